# A Salesforce integration is imported by its integration connection id.
terraform import siro_salesforce_integration.example <integration-connection-id>
