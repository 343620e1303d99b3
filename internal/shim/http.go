package shim

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
)

// Handler returns the shim's API (see the package documentation).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		reply(w, Info{Pid: os.Getpid(), PidnsPid: s.pidnsPid}, nil)
	})
	mux.HandleFunc("GET /containers", func(w http.ResponseWriter, r *http.Request) {
		reply(w, s.List(), nil)
	})
	mux.HandleFunc("POST /containers", func(w http.ResponseWriter, r *http.Request) {
		var req CreateRequest
		if !decode(w, r, &req) {
			return
		}
		st, err := s.Create(&req)
		reply(w, st, err)
	})
	mux.HandleFunc("GET /containers/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, err := s.get(r.PathValue("id"))
		if err != nil {
			reply(w, nil, err)
			return
		}
		s.mu.Lock()
		st := c.st
		s.mu.Unlock()
		reply(w, st, nil)
	})
	mux.HandleFunc("POST /containers/{id}/start", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, s.Start(r.PathValue("id")))
	})
	mux.HandleFunc("POST /containers/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		var req StopRequest
		if !decode(w, r, &req) {
			return
		}
		reply(w, nil, s.Stop(r.PathValue("id"), req))
	})
	mux.HandleFunc("POST /containers/{id}/signal", func(w http.ResponseWriter, r *http.Request) {
		var req SignalRequest
		if !decode(w, r, &req) {
			return
		}
		reply(w, nil, s.Signal(r.PathValue("id"), req))
	})
	mux.HandleFunc("DELETE /containers/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, s.Remove(r.PathValue("id")))
	})
	mux.HandleFunc("GET /containers/{id}/stats", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.ContainerStats(r.PathValue("id"))
		reply(w, st, err)
	})
	mux.HandleFunc("POST /containers/{id}/exec", s.serveExec)
	mux.HandleFunc("POST /containers/{id}/attach", s.serveAttach)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		err := s.ShutdownAll()
		reply(w, nil, err)
		if err == nil {
			s.mu.Lock()
			select {
			case <-s.shutdown:
			default:
				close(s.shutdown)
			}
			s.mu.Unlock()
		}
	})
	return mux
}

// apiError is the body of an error answer.
type apiError struct {
	Error    string `json:"error"`
	NotFound bool   `json:"notFound,omitempty"`
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(apiError{Error: "decode request: " + err.Error()})
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusInternalServerError
		nf := errors.Is(err, os.ErrNotExist)
		if nf {
			code = http.StatusNotFound
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(apiError{Error: err.Error(), NotFound: nf})
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch := make(chan Event, 64)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.shutdown:
			return
		case ev := <-ch:
			if err := enc.Encode(ev); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}
