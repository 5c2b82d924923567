// The secrets' names in the vault, shared by the module that writes them and the app settings that reference them.

@export()
var sendGridApiKey = 'sendgrid-api-key'

@export()
var eventWebhookPublicKey = 'sendgrid-event-webhook-public-key'

@export()
func signingKey(id string) string => 'signing-key-${id}'
