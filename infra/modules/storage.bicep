// The app's one storage account: the Functions host's own storage (AzureWebJobsStorage), the pipeline's queues and
// tables, and the container Flex Consumption deploys the app package from. Shared keys are off: every caller,
// the host included, comes with an identity.
param name string
param location string
param tags object
param deploymentContainerName string

// Every queue the app uses, each with the -poison queue its trigger moves a message to after maxDequeueCount
// (src/Referrals.Functions/Storage/StorageNames.cs; a test compares the two).
var queueNames = [
  'referral-intake'
  'referral-intake-poison'
  'referral-notifications'
  'referral-notifications-poison'
  'referral-intake-urgent'
  'referral-intake-urgent-poison'
  'referral-notifications-urgent'
  'referral-notifications-urgent-poison'
]

// Every table the app uses (StorageNames.Tables).
var tableNames = [
  'Referrals'
  'Specialists'
  'EmailLedger'
  'IntakeGuards'
  'LinkClicks'
  'SpecialistLoad'
  'PoisonMessages'
  'OperatorAudit'
  'ReferralIndex'
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queue in queueNames: {
  parent: queueService
  name: queue
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for table in tableNames: {
  parent: tableService
  name: table
}]

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
