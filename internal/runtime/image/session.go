package image

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// session is one process's claim on the store (one per open Store). It holds an exclusive
// flock on sessions/<id>/lock for as long as the Store is open, keeps its work in progress
// under sessions/<id>/tmp, and publishes the images its containers use in
// sessions/<id>/inuse.json, so that another process (the `skiff image rm` command beside a
// running agent) neither deletes an image in use nor sweeps away a download in progress.
// A session whose lock nobody holds belongs to a process that is gone; Open removes it.
type session struct {
	dir  string
	lock *os.File
}

const (
	sessionsDir  = "sessions"
	sessionLock  = "lock"
	sessionInUse = "inuse.json"
	sessionTmp   = "tmp"
)

func newSession(storeDir string) (*session, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	dir := filepath.Join(storeDir, sessionsDir, hex.EncodeToString(b[:]))
	if err := os.MkdirAll(filepath.Join(dir, sessionTmp), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, sessionLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock session %s: %w", dir, err)
	}
	return &session{dir: dir, lock: f}, nil
}

func (ss *session) tmp() string { return filepath.Join(ss.dir, sessionTmp) }

// close ends the session: its directory goes, then its lock.
func (ss *session) close() error {
	err := os.RemoveAll(ss.dir)
	if cerr := ss.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeInUse publishes this session's in-use image IDs. The caller holds the store lock.
func (ss *session) writeInUse(inUse map[string]int) error {
	ids := make([]string, 0, len(inUse))
	for id, n := range inUse {
		if n > 0 {
			ids = append(ids, id)
		}
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	// No fsync: the file is worthless once this process is gone.
	tmp := filepath.Join(ss.dir, sessionInUse+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(ss.dir, sessionInUse))
}

// otherSession is what one process learns about another's session.
type otherSession struct {
	dir   string
	alive bool
	inUse []string
}

// otherSessions lists the sessions of the store other than own. A session is alive while
// its lock is held; for live sessions the published in-use IDs are read. The caller holds
// the store lock, so the files are not being rewritten.
func otherSessions(storeDir string, own *session) ([]otherSession, error) {
	entries, err := os.ReadDir(filepath.Join(storeDir, sessionsDir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []otherSession
	for _, e := range entries {
		dir := filepath.Join(storeDir, sessionsDir, e.Name())
		if own != nil && dir == own.dir {
			continue
		}
		o := otherSession{dir: dir, alive: sessionAlive(dir)}
		if o.alive {
			if b, err := os.ReadFile(filepath.Join(dir, sessionInUse)); err == nil {
				_ = json.Unmarshal(b, &o.inUse)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// sessionAlive reports whether some process holds the session's lock.
func sessionAlive(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, sessionLock), os.O_RDWR, 0)
	if err != nil {
		return false // no lock file: a session that never finished starting, or is gone
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
