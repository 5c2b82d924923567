// Referrals on Azure: one resource group with the storage account, the Flex Consumption Functions app, its
// identity, Key Vault, and Application Insights. `azd up` deploys it (azure.yaml, main.parameters.json).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('The azd environment name; it names the resource group and seeds the resources\' unique names.')
param environmentName string

@minLength(1)
@description('The region for every resource (one that offers Flex Consumption).')
param location string

@description('The blog\'s origins, e.g. ["https://blog.clinic.example"]: the only browsers that may post referrals.')
param blogOrigins array

@description('The sender of every email (a SendGrid verified sender).')
param emailFromAddress string

@description('The sender\'s display name.')
param emailFromName string = 'Clinic referrals'

@description('Where referrals that nobody matched are announced.')
param emailTriageAddress string

@description('Reply-To for visitors\' emails; empty for none.')
param emailReplyToAddress string = ''

@description('SendGrid validates but does not deliver: for a staging environment.')
param sendGridSandboxMode bool = false

@description('Where operator alerts go.')
param operatorsAddress string

@description('The address links in emails start with; empty for the app\'s own https://<name>.azurewebsites.net.')
param publicBaseUrl string = ''

@description('Operator name to the SHA-256 (hex) of the function key they use; see README-infra.md.')
param operatorKeyFingerprints object = {}

// Secrets: each one given empty keeps the value the vault already holds (a deployment from CI passes none).
@secure()
@description('The SendGrid API key (Mail Send permission).')
param sendGridApiKey string

@secure()
@description('The signed Event Webhook\'s verification key from SendGrid (base64).')
param eventWebhookPublicKey string

@description('SendGrid\'s signed Event Webhook is on and its key is in the vault: the app then checks every event post.')
param eventWebhookSigned bool = false

@secure()
@description('Signing secrets by key id, at least 32 characters each: { "2027-01": "..." }. Ids: letters, digits, dashes.')
param signingKeys object

@description('The key id new stamps, links and cookies are signed with: one of signingKeys\' ids.')
param activeSigningKeyId string

@minValue(40)
@maxValue(1000)
@description('Flex Consumption\'s instance limit (see "Capacity" in README-infra.md).')
param maximumInstanceCount int = 40

@allowed([2048, 4096])
param instanceMemoryMB int = 2048

var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var appName = 'func-referrals-${token}'
var identityName = 'id-referrals-${token}'
var storageName = 'streferrals${take(token, 12)}'
var deploymentContainerName = 'app-package-${take(token, 12)}'
var keyVaultName = 'kv-ref-${take(token, 13)}'

import * as secretNames from 'modules/secret-names.bicep'

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: group
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  scope: group
  params: {
    name: storageName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module storageAccess 'modules/storage-access.bicep' = {
  scope: group
  params: {
    storageAccountName: storageName
    deploymentContainerName: deploymentContainerName
    identityName: identityName
  }
  dependsOn: [
    identity
    storage
  ]
}

module monitoring 'modules/monitoring.bicep' = {
  scope: group
  params: {
    logAnalyticsName: 'log-referrals-${token}'
    applicationInsightsName: 'appi-referrals-${token}'
    location: location
    tags: tags
    identityName: identityName
  }
  dependsOn: [
    identity
  ]
}

module keyVault 'modules/keyvault.bicep' = {
  scope: group
  params: {
    name: keyVaultName
    location: location
    tags: tags
    identityName: identityName
    sendGridApiKey: sendGridApiKey
    eventWebhookPublicKey: eventWebhookPublicKey
    signingKeys: signingKeys
  }
  dependsOn: [
    identity
  ]
}

module functions 'modules/functionapp.bicep' = {
  scope: group
  params: {
    planName: 'plan-referrals-${token}'
    appName: appName
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    sendGridApiKeySecretName: secretNames.sendGridApiKey
    webhookKeySecretName: eventWebhookSigned ? secretNames.eventWebhookPublicKey : ''
    signingKeySecretNames: [for id in objectKeys(signingKeys): { id: id, name: secretNames.signingKey(id) }]
    activeSigningKeyId: activeSigningKeyId
    allowedOrigins: blogOrigins
    emailFromAddress: emailFromAddress
    emailFromName: emailFromName
    emailTriageAddress: emailTriageAddress
    emailReplyToAddress: emailReplyToAddress
    sendGridSandboxMode: sendGridSandboxMode
    operatorsAddress: operatorsAddress
    publicBaseUrl: publicBaseUrl
    operatorKeyFingerprints: operatorKeyFingerprints
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
  // The app's first start opens its storage with its identity: the storage grants come first (the vault's come with
  // keyVault.outputs.uri).
  dependsOn: [
    storageAccess
  ]
}

output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = functions.outputs.name
output SERVICE_FUNCTIONS_URL string = functions.outputs.url
