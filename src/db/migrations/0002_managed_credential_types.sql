-- The managed credential types the foundation needs; inputs follow AWX's field names so
-- credentials created by awx.awx modules carry the same keys.
INSERT INTO credential_types (name, kind, namespace, managed, inputs, injectors) VALUES
('Machine', 'ssh', 'ssh', true, '{
  "fields": [
    {"id": "username", "label": "Username", "type": "string"},
    {"id": "password", "label": "Password", "type": "string", "secret": true, "ask_at_runtime": true},
    {"id": "ssh_key_data", "label": "SSH Private Key", "type": "string", "format": "ssh_private_key", "secret": true, "multiline": true},
    {"id": "ssh_public_key_data", "label": "Signed SSH Certificate", "type": "string", "multiline": true, "secret": true},
    {"id": "ssh_key_unlock", "label": "Private Key Passphrase", "type": "string", "secret": true, "ask_at_runtime": true},
    {"id": "become_method", "label": "Privilege Escalation Method", "type": "string"},
    {"id": "become_username", "label": "Privilege Escalation Username", "type": "string"},
    {"id": "become_password", "label": "Privilege Escalation Password", "type": "string", "secret": true, "ask_at_runtime": true}
  ]}', '{}'),
('Source Control', 'scm', 'scm', true, '{
  "fields": [
    {"id": "username", "label": "Username", "type": "string"},
    {"id": "password", "label": "Password", "type": "string", "secret": true},
    {"id": "ssh_key_data", "label": "SCM Private Key", "type": "string", "format": "ssh_private_key", "secret": true, "multiline": true},
    {"id": "ssh_key_unlock", "label": "Private Key Passphrase", "type": "string", "secret": true}
  ]}', '{}'),
('Vault', 'vault', 'vault', true, '{
  "fields": [
    {"id": "vault_password", "label": "Vault Password", "type": "string", "secret": true, "ask_at_runtime": true},
    {"id": "vault_id", "label": "Vault Identifier", "type": "string", "format": "vault_id"}
  ], "required": ["vault_password"]}', '{}'),
('Amazon Web Services', 'cloud', 'aws', true, '{
  "fields": [
    {"id": "username", "label": "Access Key", "type": "string"},
    {"id": "password", "label": "Secret Key", "type": "string", "secret": true},
    {"id": "security_token", "label": "STS Token", "type": "string", "secret": true}
  ], "required": ["username", "password"]}',
 '{"env": {"AWS_ACCESS_KEY_ID": "{{username}}", "AWS_SECRET_ACCESS_KEY": "{{password}}", "AWS_SECURITY_TOKEN": "{{security_token}}", "AWS_SESSION_TOKEN": "{{security_token}}"}}');
