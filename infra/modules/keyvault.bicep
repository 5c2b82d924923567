// The app's secrets: the SendGrid API key, the Event Webhook's verification key and the signing secrets
// (Security:Keys), read through Key Vault references, and the Functions host's own keys (function and host keys,
// AzureWebJobsSecretStorageType=keyvault). RBAC mode: the app's identity gets roles, not access policies.
// A secret given empty is left as the vault has it, so a deployment from CI, which holds no secrets, changes none.
param name string
param location string
param tags object
@description('The app\'s identity, by name: it gets the roles below.')
param identityName string

@secure()
param sendGridApiKey string

@secure()
param eventWebhookPublicKey string

@description('Signing secret by key id (ids: letters, digits and dashes).')
@secure()
param signingKeys object

import * as secretNames from 'secret-names.bicep'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

resource sendGrid 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(sendGridApiKey)) {
  parent: vault
  name: secretNames.sendGridApiKey
  properties: {
    value: sendGridApiKey
  }
}

resource webhookKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(eventWebhookPublicKey)) {
  parent: vault
  name: secretNames.eventWebhookPublicKey
  properties: {
    value: eventWebhookPublicKey
  }
}

resource signing 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for key in filter(items(signingKeys), k => !empty(k.value)): {
  parent: vault
  name: secretNames.signingKey(key.key)
  properties: {
    value: key.value
  }
}]

var roles = {
  // Reads the secrets behind the app settings' Key Vault references.
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  // Lets the Functions host create and rotate its function and host keys in the vault.
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output uri string = vault.properties.vaultUri
