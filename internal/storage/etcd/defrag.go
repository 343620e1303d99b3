package etcd

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefragInterval is how often the embedded etcd's free space is checked, matching the
// compaction period.
const DefragInterval = 5 * time.Minute

// ShouldDefrag decides whether reclaiming free space is worth stalling writes for: when at
// least 64 MiB and half of the database file is free (after compaction).
func ShouldDefrag(dbSize, inUse int64) bool {
	free := dbSize - inUse
	return free >= 64<<20 && free*2 >= dbSize
}

// RunDefrag checks the database every interval and defragments it when ShouldDefrag says so,
// until ctx ends.
func (e *Embedded) RunDefrag(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		endpoint := e.Client.Endpoints()[0]
		st, err := e.Client.Status(ctx, endpoint)
		if err != nil || !ShouldDefrag(st.DbSize, st.DbSizeInUse) {
			continue
		}
		start := time.Now()
		if _, err := e.Client.Defragment(clientv3.WithRequireLeader(ctx), endpoint); err != nil {
			log.Warn("etcd defragmentation failed", "err", err)
			continue
		}
		log.Info("etcd defragmented", "size", st.DbSize, "in-use", st.DbSizeInUse, "took", time.Since(start).Round(time.Millisecond))
	}
}
