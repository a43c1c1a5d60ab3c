-- The two HashiCorp Vault lookup credential types AWX ships (namespaces hashivault_kv and
-- hashivault_ssh, kind external), with AWX's input and metadata field ids, so credentials and
-- input sources made by awx.awx carry the same keys. ON CONFLICT DO NOTHING: a migration that
-- defines every managed type may add these too; whichever runs first holds the row.
INSERT INTO credential_types (name, kind, namespace, managed, inputs, injectors) VALUES
('HashiCorp Vault Secret Lookup', 'external', 'hashivault_kv', true, '{
  "fields": [
    {"id": "url", "label": "Server URL", "type": "string", "help_text": "The URL to the HashiCorp Vault"},
    {"id": "token", "label": "Token", "type": "string", "secret": true, "help_text": "The access token used to authenticate to the Vault server"},
    {"id": "cacert", "label": "CA Certificate", "type": "string", "multiline": true, "help_text": "The CA certificate used to verify the SSL certificate of the Vault server"},
    {"id": "role_id", "label": "AppRole role_id", "type": "string", "multiline": false, "help_text": "The Role ID for AppRole Authentication"},
    {"id": "secret_id", "label": "AppRole secret_id", "type": "string", "multiline": false, "secret": true, "help_text": "The Secret ID for AppRole Authentication"},
    {"id": "client_cert_public", "label": "Client Certificate", "type": "string", "multiline": true},
    {"id": "client_cert_private_key", "label": "Client Certificate Key", "type": "string", "multiline": true, "secret": true},
    {"id": "client_cert_role", "label": "TLS Authentication Role", "type": "string", "multiline": false},
    {"id": "namespace", "label": "Namespace name (Vault Enterprise only)", "type": "string", "multiline": false},
    {"id": "kubernetes_role", "label": "Kubernetes role", "type": "string", "multiline": false},
    {"id": "username", "label": "Username", "type": "string", "secret": false},
    {"id": "password", "label": "Password", "type": "string", "secret": true},
    {"id": "default_auth_path", "label": "Path to Auth", "type": "string", "multiline": false, "default": "approle"},
    {"id": "api_version", "label": "API Version", "type": "string", "choices": ["v1", "v2"], "default": "v1", "help_text": "API v1 is for static key/value lookups.  API v2 is for versioned key/value lookups."}
  ],
  "metadata": [
    {"id": "secret_backend", "label": "Name of Secret Backend", "type": "string"},
    {"id": "secret_path", "label": "Path to Secret", "type": "string"},
    {"id": "auth_path", "label": "Path to Auth", "type": "string", "multiline": false},
    {"id": "secret_key", "label": "Key Name", "type": "string", "help_text": "The name of the key to look up in the secret."},
    {"id": "secret_version", "label": "Secret Version (v2 only)", "type": "string"}
  ],
  "required": ["url", "secret_path", "api_version", "secret_key"]}', '{}'),
('HashiCorp Vault Signed SSH', 'external', 'hashivault_ssh', true, '{
  "fields": [
    {"id": "url", "label": "Server URL", "type": "string", "help_text": "The URL to the HashiCorp Vault"},
    {"id": "token", "label": "Token", "type": "string", "secret": true, "help_text": "The access token used to authenticate to the Vault server"},
    {"id": "cacert", "label": "CA Certificate", "type": "string", "multiline": true},
    {"id": "role_id", "label": "AppRole role_id", "type": "string", "multiline": false},
    {"id": "secret_id", "label": "AppRole secret_id", "type": "string", "multiline": false, "secret": true},
    {"id": "client_cert_public", "label": "Client Certificate", "type": "string", "multiline": true},
    {"id": "client_cert_private_key", "label": "Client Certificate Key", "type": "string", "multiline": true, "secret": true},
    {"id": "client_cert_role", "label": "TLS Authentication Role", "type": "string", "multiline": false},
    {"id": "namespace", "label": "Namespace name (Vault Enterprise only)", "type": "string", "multiline": false},
    {"id": "kubernetes_role", "label": "Kubernetes role", "type": "string", "multiline": false},
    {"id": "username", "label": "Username", "type": "string", "secret": false},
    {"id": "password", "label": "Password", "type": "string", "secret": true},
    {"id": "default_auth_path", "label": "Path to Auth", "type": "string", "multiline": false, "default": "approle"}
  ],
  "metadata": [
    {"id": "public_key", "label": "Unsigned Public Key", "type": "string", "multiline": true},
    {"id": "secret_path", "label": "Path to Secret", "type": "string"},
    {"id": "role", "label": "Role Name", "type": "string", "help_text": "The name of the role used to sign."},
    {"id": "valid_principals", "label": "Valid Principals", "type": "string", "help_text": "Valid principals (either usernames or hostnames) that the certificate should be signed for."},
    {"id": "auth_path", "label": "Path to Auth", "type": "string", "multiline": false}
  ],
  "required": ["url", "secret_path", "public_key", "role"]}', '{}')
ON CONFLICT (name, kind) DO NOTHING;
