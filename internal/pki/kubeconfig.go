package pki

import (
	"encoding/base64"
	"fmt"
)

// Kubeconfig returns a kubeconfig for server with a client certificate, named like k3s's.
func Kubeconfig(server string, caPEM, certPEM, keyPEM []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: skiff
contexts:
- context:
    cluster: skiff
    user: admin
  name: skiff
current-context: skiff
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
`, b64(caPEM), server, b64(certPEM), b64(keyPEM)))
}

// WriteKubeconfig writes a kubeconfig file with mode 0600.
func WriteKubeconfig(path, server string, caPEM, certPEM, keyPEM []byte) error {
	return writeFile(path, Kubeconfig(server, caPEM, certPEM, keyPEM), 0o600)
}
