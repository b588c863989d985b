terraform {
  required_providers {
    siro = {
      source  = "siro/siro"
      version = "~> 0.1"
    }
  }
}

# An organisation API token from Siro. Leave it unset to use the SIRO_API_TOKEN
# environment variable instead, which keeps the token out of your variable files.
variable "siro_api_token" {
  description = "Siro organisation API token; when null the provider reads SIRO_API_TOKEN."
  type        = string
  sensitive   = true
  default     = null
}

provider "siro" {
  api_token = var.siro_api_token

  # Optional: without it the provider uses SIRO_BASE_URL when set, else Siro's public API.
  # base_url = "https://functions.siro.ai/api-externalApi"
}
