package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/skiff-project/skiff/internal/runtime/image"
)

func newImageCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the node's image store: import tarballs, list and remove images",
		Long: "Manage the image store of a node agent (<data-dir>/images), for machines without a registry.\n" +
			"These commands work while the agent runs; images in use by its containers cannot be removed.",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "/var/lib/skiff/agent", "the agent's data dir (images live in <data-dir>/images)")
	open := func(cmd *cobra.Command) (*image.Store, error) {
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		return image.Open(filepath.Join(dataDir, "images"), log)
	}

	importCmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import images from `docker save` or OCI image layout tarballs (- reads stdin)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := open(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			for _, file := range args {
				if err := importFile(cmd, store, file); err != nil {
					return err
				}
			}
			return nil
		},
	}

	var quiet bool
	lsCmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the images in the store",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := open(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			if quiet {
				for _, img := range store.List() {
					fmt.Fprintln(cmd.OutOrStdout(), img.ID)
				}
				return nil
			}
			return printImages(cmd.OutOrStdout(), store.List())
		},
	}
	lsCmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print image IDs only")

	rmCmd := &cobra.Command{
		Use:     "rm IMAGE...",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove images by reference or ID (untags; deletes an image when its last tag goes)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := open(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			var failed []string
			for _, ref := range args {
				if err := store.Remove(ref); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "error: %v\n", err)
					failed = append(failed, ref)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed: %s\n", ref)
			}
			if len(failed) > 0 {
				return fmt.Errorf("could not remove %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	cmd.AddCommand(importCmd, lsCmd, rmCmd)
	return cmd
}

func importFile(cmd *cobra.Command, store *image.Store, file string) error {
	var r io.Reader = cmd.InOrStdin()
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	imgs, err := store.Import(cmd.Context(), r)
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	for _, img := range imgs {
		names := img.RepoTags
		if len(names) == 0 {
			names = []string{"<untagged>"}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Imported %s (%s)\n", strings.Join(names, ", "), img.ID)
	}
	return nil
}

// printImages prints images as `crictl images` does: a row per tag.
func printImages(out io.Writer, imgs []image.Image) error {
	w := tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, img := range imgs {
		id := strings.TrimPrefix(img.ID, "sha256:")
		if len(id) > 13 {
			id = id[:13]
		}
		size := humanSize(img.Size)
		if len(img.RepoTags) == 0 {
			repo := "<none>"
			if len(img.RepoDigests) > 0 {
				repo, _, _ = strings.Cut(img.RepoDigests[0], "@")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", repo, "<none>", id, size)
		}
		for _, tag := range img.RepoTags {
			i := strings.LastIndex(tag, ":")
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", tag[:i], tag[i+1:], id, size)
		}
	}
	return w.Flush()
}

// humanSize formats bytes with decimal units and three significant digits, as crictl
// does ("2.22MB").
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}
