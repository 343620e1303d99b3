// Command skiffhost is skiff's multi-purpose test program, like Kubernetes' agnhost: one
// static binary in a small image whose first argument picks what it does.
//
//	serve [--port 8080]             HTTP: / and /hostname reply the hostname; /echo?msg=X
//	                                replies X; /exit?code=N replies, then exits N; /healthz is
//	                                200, or 500 while /tmp/unhealthy exists; /env prints the
//	                                environment; /file?path=P prints the file P; /clientip
//	                                replies the address the request came from (no port)
//	exit CODE [--after DURATION]    exit with CODE, after DURATION
//	sleep DURATION                  sleep, then exit 0
//	pause                           sleep until killed
//	stress [--cpu N] [--duration D] [--mem-mib M]
//	                                keep N CPUs busy and/or allocate and touch M MiB, then hold
//	                                them for D (forever without --duration)
//	dns-lookup NAME                 print NAME's addresses, one a line
//	tcp-connect HOST:PORT [--timeout D]   connect, print "connected", exit 0
//	get URL [--timeout D]           HTTP GET URL, print the body; exit 1 unless the status is 2xx
//	log-signals [--ignore-term]     print "ready", then each signal's name as it arrives; on
//	                                SIGTERM print SIGTERM and exit 0 unless --ignore-term
//	cat FILE                        print FILE
//
// Output goes to stdout, diagnostics to stderr. Exit codes: 0 success, 1 the operation
// failed, 2 bad usage (and, for exit, the code asked for).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	exitFailure = 1
	exitUsage   = 2
)

// unhealthyFile makes /healthz fail while it exists.
const unhealthyFile = "/tmp/unhealthy"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "exit":
		err = exitCmd(args)
	case "sleep":
		err = sleepCmd(args)
	case "pause":
		select {}
	case "stress":
		err = stress(args)
	case "dns-lookup":
		err = dnsLookup(args)
	case "tcp-connect":
		err = tcpConnect(args)
	case "get":
		err = httpGet(args)
	case "log-signals":
		err = logSignals(args)
	case "cat":
		err = catCmd(args)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "skiffhost: unknown command %q\n", cmd)
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiffhost %s: %v\n", cmd, err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(exitUsage)
		}
		os.Exit(exitFailure)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: skiffhost COMMAND [ARGS]
commands: serve [--port 8080] | exit CODE [--after D] | sleep D | pause |
  stress [--cpu N] [--duration D] [--mem-mib M] | dns-lookup NAME |
  tcp-connect HOST:PORT [--timeout D] | get URL [--timeout D] |
  log-signals [--ignore-term] | cat FILE
`)
	os.Exit(exitUsage)
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parse parses flags that may come before or after the positional arguments, and
// checks that there are exactly nargs of those.
func parse(fs *flag.FlagSet, args []string, nargs int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != nargs {
		return nil, usageError{fmt.Sprintf("want %d argument(s), got %d", nargs, len(pos))}
	}
	return pos, nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.Int("port", 8080, "TCP port")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	mux := http.NewServeMux()
	srv := &http.Server{Addr: fmt.Sprintf(":%d", *port), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	var exiting atomic.Bool
	reply := func(w http.ResponseWriter, s string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, s)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		reply(w, hostname)
	})
	mux.HandleFunc("/hostname", func(w http.ResponseWriter, _ *http.Request) { reply(w, hostname) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) { reply(w, r.URL.Query().Get("msg")) })
	mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		reply(w, host)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if _, err := os.Stat(unhealthyFile); err == nil {
			w.WriteHeader(http.StatusInternalServerError)
			reply(w, "unhealthy: "+unhealthyFile+" exists")
			return
		}
		reply(w, "ok")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) {
		env := os.Environ()
		sort.Strings(env)
		reply(w, strings.Join(env, "\n"))
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			w.WriteHeader(http.StatusNotFound)
			reply(w, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil || code < 0 || code > 255 {
			w.WriteHeader(http.StatusBadRequest)
			reply(w, "code must be 0-255")
			return
		}
		reply(w, fmt.Sprintf("exiting %d", code))
		if exiting.Swap(true) {
			return
		}
		// Exit once this reply has gone out: Shutdown waits for the handler to return and
		// the connection to go idle.
		go func() {
			_ = srv.Shutdown(context.Background())
			fmt.Printf("exiting %d on request\n", code)
			os.Exit(code)
		}()
	})
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	fmt.Printf("serving on %s\n", ln.Addr())
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		select {} // /exit is on its way out
	}
	return err
}

func exitCmd(args []string) error {
	fs := flag.NewFlagSet("exit", flag.ContinueOnError)
	after := fs.Duration("after", 0, "wait this long first")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	code, err := strconv.Atoi(pos[0])
	if err != nil || code < 0 || code > 255 {
		return usageError{fmt.Sprintf("exit code %q: want 0-255", pos[0])}
	}
	time.Sleep(*after)
	fmt.Printf("exiting %d\n", code)
	os.Exit(code)
	return nil
}

func sleepCmd(args []string) error {
	pos, err := parse(flag.NewFlagSet("sleep", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	time.Sleep(d)
	return nil
}

func stress(args []string) error {
	fs := flag.NewFlagSet("stress", flag.ContinueOnError)
	cpus := fs.Int("cpu", 0, "CPUs to keep busy")
	duration := fs.Duration("duration", 0, "how long (default: forever)")
	memMiB := fs.Int("mem-mib", 0, "MiB to allocate and touch")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *cpus == 0 && *memMiB == 0 {
		return usageError{"give --cpu N and/or --mem-mib M"}
	}
	for range *cpus {
		go func() {
			x := uint64(1)
			for {
				x = x*6364136223846793005 + 1442695040888963407
			}
		}()
	}
	if *cpus > 0 {
		fmt.Printf("busy on %d CPUs (GOMAXPROCS %d)\n", *cpus, runtime.GOMAXPROCS(0))
	}
	var hold [][]byte
	for i := 0; i < *memMiB; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		hold = append(hold, b)
	}
	if *memMiB > 0 {
		fmt.Printf("allocated %d MiB\n", len(hold))
	}
	if *duration > 0 {
		time.Sleep(*duration)
		runtime.KeepAlive(hold)
		fmt.Println("done")
		return nil
	}
	select {}
}

func dnsLookup(args []string) error {
	pos, err := parse(flag.NewFlagSet("dns-lookup", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	addrs, err := net.LookupHost(pos[0])
	if err != nil {
		return err
	}
	for _, a := range addrs {
		fmt.Println(a)
	}
	return nil
}

func tcpConnect(args []string) error {
	fs := flag.NewFlagSet("tcp-connect", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", pos[0], *timeout)
	if err != nil {
		return err
	}
	c.Close()
	fmt.Printf("connected to %s\n", pos[0])
	return nil
}

func httpGet(args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(pos[0])
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", pos[0], resp.Status)
	}
	return nil
}

func logSignals(args []string) error {
	fs := flag.NewFlagSet("log-signals", flag.ContinueOnError)
	ignoreTerm := fs.Bool("ignore-term", false, "keep running after SIGTERM")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	var sigs []os.Signal
	for s := syscall.Signal(1); s <= 31; s++ {
		// SIGKILL and SIGSTOP cannot be caught; the Go runtime uses SIGURG for preemption.
		if s != syscall.SIGKILL && s != syscall.SIGSTOP && s != syscall.SIGURG {
			sigs = append(sigs, s)
		}
	}
	c := make(chan os.Signal, 16)
	signal.Notify(c, sigs...)
	fmt.Println("ready")
	for s := range c {
		n := signalName(s.(syscall.Signal))
		fmt.Println(n)
		if s == syscall.SIGTERM && !*ignoreTerm {
			return nil
		}
	}
	return nil
}

func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGILL: "SIGILL",
		syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2", syscall.SIGPIPE: "SIGPIPE",
		syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM", syscall.SIGSTKFLT: "SIGSTKFLT", syscall.SIGCHLD: "SIGCHLD",
		syscall.SIGCONT: "SIGCONT", syscall.SIGTSTP: "SIGTSTP", syscall.SIGTTIN: "SIGTTIN", syscall.SIGTTOU: "SIGTTOU",
		syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGVTALRM: "SIGVTALRM", syscall.SIGPROF: "SIGPROF",
		syscall.SIGWINCH: "SIGWINCH", syscall.SIGIO: "SIGIO", syscall.SIGPWR: "SIGPWR", syscall.SIGSYS: "SIGSYS",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("SIG%d", int(s))
}

func catCmd(args []string) error {
	pos, err := parse(flag.NewFlagSet("cat", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(os.Stdout, f)
	return err
}
