// The Functions app on Flex Consumption: .NET 10 isolated, one user-assigned identity for storage, Key Vault,
// Application Insights and the deployment package, the blog's origins in the site's CORS list, and every app
// setting the code reads (tests/Referrals.InfraTests checks the list against the code).
param planName string
param appName string
param location string
param tags object

param identityId string
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string

param applicationInsightsConnectionString string

param keyVaultUri string
param sendGridApiKeySecretName string
@description('Empty until the signed Event Webhook is on (the app then refuses every event post).')
param webhookKeySecretName string
@description('Signing keys as { id, name }: the key id and its secret\'s name in the vault.')
param signingKeySecretNames array
param activeSigningKeyId string

@description('The blog\'s origins: the site\'s CORS list (the platform answers preflights from it) and Intake:AllowedOrigins.')
param allowedOrigins array

param emailFromAddress string
param emailFromName string
param emailTriageAddress string
param emailReplyToAddress string
param sendGridSandboxMode bool
param operatorsAddress string
@description('The address links in emails start with; empty for the app\'s own https://<name>.azurewebsites.net.')
param publicBaseUrl string
@description('Operator name to SHA-256 (hex) of the function key they use (Operators:KeyFingerprints).')
param operatorKeyFingerprints object

param maximumInstanceCount int
param instanceMemoryMB int

func keyVaultReference(vaultUri string, secretName string) string =>
  '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${secretName}/)'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': 'functions' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      cors: {
        allowedOrigins: allowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// Flex Consumption sets FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION itself (functionAppConfig) and
// refuses them as app settings. This resource replaces the whole list, so every setting lives here.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(
    {
      // The host's storage and the app's queues and tables, with the app's identity instead of a key.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      // The identity DefaultAzureCredential picks in the worker.
      AZURE_CLIENT_ID: identityClientId

      // Function and host keys live in the vault, not in blob storage.
      AzureWebJobsSecretStorageType: 'keyvault'
      AzureWebJobsSecretStorageKeyVaultUri: keyVaultUri
      AzureWebJobsSecretStorageKeyVaultClientId: identityClientId

      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

      Email__SendGridApiKey: keyVaultReference(keyVaultUri, sendGridApiKeySecretName)
      Email__FromAddress: emailFromAddress
      Email__FromName: emailFromName
      Email__TriageAddress: emailTriageAddress
      Email__SandboxMode: string(sendGridSandboxMode)

      Routing__PublicBaseUrl: empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl
      Routing__OperatorsAddress: operatorsAddress

      Security__ActiveKeyId: activeSigningKeyId
    },
    empty(webhookKeySecretName) ? {} : { Email__EventWebhookPublicKey: keyVaultReference(keyVaultUri, webhookKeySecretName) },
    empty(emailReplyToAddress) ? {} : { Email__ReplyToAddress: emailReplyToAddress },
    toObject(signingKeySecretNames, key => 'Security__Keys__${key.id}', key => keyVaultReference(keyVaultUri, key.name)),
    toObject(range(0, length(allowedOrigins)), i => 'Intake__AllowedOrigins__${i}', i => allowedOrigins[i]),
    toObject(items(operatorKeyFingerprints), operator => 'Operators__KeyFingerprints__${operator.key}', operator => operator.value)
  )
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
