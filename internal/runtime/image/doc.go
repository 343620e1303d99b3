// Package image is a node's OCI image store: images pulled from registries (with
// go-containerregistry) or imported from tarballs, unpacked once per layer, and mounted as
// container root filesystems on overlayfs.
//
// # Using it
//
// The agent opens one Store on <data-dir>/images and keeps it for its lifetime:
//
//	store, err := image.Open(filepath.Join(dataDir, "images"), log)
//	defer store.Close()
//
// For each container it starts, the kubelet finds or pulls the image (the pull policy is
// the kubelet's: Never -> Get only; IfNotPresent -> Get, then Pull if missing; Always ->
// Pull, which asks the registry every time but downloads only layers not present), then:
//
//	release := store.Use(img.ID)              // before Rootfs: GC and Remove now skip it
//	rootfs, err := store.Rootfs(ctx, img, containerDir)
//	... run the container on rootfs ...
//	store.ReleaseRootfs(containerDir)         // unmounts, removes the writable layer
//	release()
//
// After an agent restart, Use is called again for every container still running before
// GC runs, since use counts live in memory. GC(ctx, high, low) is called periodically with
// the kubelet's thresholds.
//
// # On disk
//
//	images.json              the images: tags, digests, layers, last use (replaced atomically)
//	lock                     flock taken for every change to images.json and deletion
//	blobs/sha256/<hex>       image configs and manifests, stored once by digest
//	layers/<diffID hex>/fs   an unpacked layer, shared by every image that has it
//	layers/<diffID hex>/layer.json   its diffID, blob digest and size
//	l/<short>                symbolic link to layers/<hex>/fs (a unique diffID prefix)
//	empty/                   the lower directory of an image with no layers
//	sessions/<id>/           one per open Store: its lock, in-use list and temporary files
//
// Compressed layer blobs are not kept: a layer is hashed twice as it streams (the blob
// digest and the uncompressed diffID) and unpacked into a temporary directory, which is
// synced and renamed into layers/ only when both digests match. So a crash never leaves a
// layer that looks complete, and a corrupted blob leaves nothing. Whiteouts become what
// overlayfs reads: ".wh.name" a 0/0 character device "name", ".wh..wh..opq" the
// trusted.overlay.opaque=y xattr on its directory (so unpacking them needs root).
//
// # Several processes
//
// `skiff image import|ls|rm` open the store while the agent has it open. Changes take the
// flock on lock, re-read images.json if another process replaced it, and write it back;
// reads re-read it when its inode changed. Each Store holds a flock on its own session
// directory and publishes the IDs its containers use there, so Remove and GC in any process
// see every process's in-use images. Work in progress lives in the session, so a process
// that dies leaves only a session nobody holds, which the next Open removes; layers that
// no image refers to are swept by Open when no other process has the store open.
package image
