// Package filesync copies changed files into running containers instead of
// rebuilding their image: hoist dev's sync (build.artifacts[].sync of
// skaffold.yaml). Plan decides whether an artifact's changed files can be
// synced and where each goes, from manual rules (src, dest, strip) or from
// the Dockerfile's COPY and ADD instructions (infer); WriteTar makes the
// tar stream that carries them; Cluster.Sync copies them into every running
// container of the image through exec, as Skaffold does (tar -xmf - -C /,
// and rm for deleted files).
package filesync
