# Connects Siro to a Salesforce organisation through the JWT bearer flow.
resource "siro_salesforce_integration" "example" {
  namespace    = "acme"
  org_id       = "00D5e0000012345"
  instance_url = "https://acme.my.salesforce.com"
  username     = "siro-integration@acme.example"
  is_prod      = true
}

output "siro_integration_connection_id" {
  value = siro_salesforce_integration.example.integration_connection_id
}
