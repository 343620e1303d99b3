package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-project/skiff/internal/server"
)

func newSecretsEncryptCommand() *cobra.Command {
	var dataDir, kubeconfig string
	cmd := &cobra.Command{
		Use:   "secrets-encrypt",
		Short: "Show or rotate the keys that encrypt Secrets at rest",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "/var/lib/skiff/server", "the server's data dir (its admin.kubeconfig is used)")
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", "", "a cluster-admin kubeconfig (default: <data-dir>/admin.kubeconfig)")
	call := func(cmd *cobra.Command, method, path string) error {
		if kubeconfig == "" {
			kubeconfig = filepath.Join(dataDir, "admin.kubeconfig")
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return err
		}
		hc, err := rest.HTTPClientFor(cfg)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(cmd.Context(), method, strings.TrimSuffix(cfg.Host, "/")+path, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
		}
		var st server.EncryptionStatus
		if err := json.Unmarshal(body, &st); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "Encryption Status: Enabled\nProvider: %s\nActive Key: %s\n", st.Provider, st.Active)
		if len(st.Keys) > 1 {
			fmt.Fprintf(out, "Keys: %s (rotation in progress)\n", strings.Join(st.Keys, ", "))
		}
		fmt.Fprintf(out, "Secrets: %d, encrypted with the active key: %d\n", st.Secrets, st.Current)
		if method == http.MethodPost {
			fmt.Fprintf(out, "Rotated: %d secrets rewritten with the new key\n", st.Rotated)
		}
		return nil
	}
	cmd.AddCommand(&cobra.Command{
		Use: "status", Short: "Show the active key and how many Secrets it encrypts", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(cmd, http.MethodGet, server.SecretsEncryptStatusPath)
		},
	}, &cobra.Command{
		Use: "rotate", Short: "Encrypt every Secret with a new key, then forget the old one", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(cmd, http.MethodPost, server.SecretsEncryptRotatePath)
		},
	})
	return cmd
}
