package kubelet

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	probeLiveness = iota
	probeReadiness
	probeStartup
)

var probeNames = [3]string{"Liveness", "Readiness", "Startup"}

func probeSpec(c *corev1.Container, kind int) *corev1.Probe {
	switch kind {
	case probeLiveness:
		return c.LivenessProbe
	case probeReadiness:
		return c.ReadinessProbe
	default:
		return c.StartupProbe
	}
}

// probeTiming returns the probe's settings with the API's defaults filled in.
func probeTiming(p *corev1.Probe) (initial, period, timeout time.Duration, success, failure int32) {
	period, timeout, success, failure = 10*time.Second, time.Second, 1, 3
	if p.PeriodSeconds > 0 {
		period = time.Duration(p.PeriodSeconds) * time.Second
	}
	if p.TimeoutSeconds > 0 {
		timeout = time.Duration(p.TimeoutSeconds) * time.Second
	}
	if p.SuccessThreshold > 0 {
		success = p.SuccessThreshold
	}
	if p.FailureThreshold > 0 {
		failure = p.FailureThreshold
	}
	return time.Duration(p.InitialDelaySeconds) * time.Second, period, timeout, success, failure
}

// runProbes runs the container's due probes: the startup probe until it succeeds, then liveness
// and readiness. A failed startup or liveness probe stops the container; the restart policy and
// back-off decide what follows.
func (kl *Kubelet) runProbes(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, cur *Container, now time.Time, wake *wakeup) {
	cs := w.state(c.Name)
	if cs.id != cur.ID {
		*cs = containerState{id: cur.ID, started: c.StartupProbe == nil, backoffFor: cs.backoffFor}
		for kind := range cs.probes {
			if p := probeSpec(c, kind); p != nil {
				initial, _, _, _, _ := probeTiming(p)
				cs.probes[kind].next = cur.StartedAt.Add(initial)
			}
		}
		if c.ReadinessProbe == nil {
			cs.ready = cs.started
		}
	}
	if cs.stopGrace != 0 {
		return
	}
	kinds := []int{probeStartup}
	if cs.started {
		kinds = []int{probeLiveness, probeReadiness}
	}
	for _, kind := range kinds {
		p := probeSpec(c, kind)
		if p == nil {
			continue
		}
		st := &cs.probes[kind]
		_, period, timeout, successT, failureT := probeTiming(p)
		if now.Before(st.next) {
			wake.at(st.next)
			continue
		}
		st.next = now.Add(period)
		wake.at(st.next)
		ok, output := kl.probe(ctx, w, pod, c, cur, kind, p, timeout)
		if ok {
			st.successes++
			st.failures = 0
		} else {
			st.failures++
			st.successes = 0
			kl.recorder.Eventf(containerRef(pod, c, isSidecar(c)), corev1.EventTypeWarning, eventUnhealthy, "%s probe failed: %s", probeNames[kind], output)
		}
		switch kind {
		case probeStartup:
			if ok && st.successes >= successT {
				cs.started = true
				cs.ready = c.ReadinessProbe == nil
				// Liveness and readiness start now, their initial delays counted from the start.
				for _, k := range []int{probeLiveness, probeReadiness} {
					if cs.probes[k].next.Before(now) {
						cs.probes[k].next = now
					}
				}
				wake.at(now)
			} else if !ok && st.failures >= failureT {
				kl.stopFailed(ctx, cs, pod, c, cur, p, "startup")
				return
			}
		case probeLiveness:
			if !ok && st.failures >= failureT {
				kl.stopFailed(ctx, cs, pod, c, cur, p, "liveness")
				return
			}
		case probeReadiness:
			if ok && st.successes >= successT {
				cs.ready = true
			} else if !ok && st.failures >= failureT {
				cs.ready = false
			}
		}
	}
}

// stopFailed stops a container whose liveness or startup probe failed.
func (kl *Kubelet) stopFailed(ctx context.Context, cs *containerState, pod *corev1.Pod, c *corev1.Container, cur *Container, p *corev1.Probe, what string) {
	grace := podGrace(pod)
	if p.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	grace = max(grace, minimumGracePeriod)
	msg := fmt.Sprintf("Container %s failed %s probe", c.Name, what)
	if shouldRestart(pod, c, 1) {
		msg += ", will be restarted"
	}
	cs.stopGrace, cs.ready = grace, false
	kl.recorder.Eventf(containerRef(pod, c, isSidecar(c)), corev1.EventTypeNormal, eventKilling, "%s", msg)
	if err := kl.runtime.StopContainer(ctx, pod.UID, cur.ID, grace); err != nil {
		kl.log.Warn("stop container", "pod", pod.Name, "container", c.Name, "err", err)
	}
}

// probe runs one probe: the runtime simulates it, or runs exec probes, or the network prober
// runs HTTP, TCP and gRPC probes from the node against the pod's IP, the address of its
// network namespace (on the node's bridge, or the node's own for hostNetwork pods), as
// upstream's kubelet does.
func (kl *Kubelet) probe(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, cur *Container, kind int, p *corev1.Probe, timeout time.Duration) (bool, string) {
	if sim, ok := kl.runtime.(ProbeSimulator); ok {
		return sim.SimulateProbe(pod.UID, cur.ID, probeNames[kind])
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if p.Exec != nil {
		var out bytes.Buffer
		code, err := kl.runtime.Exec(ctx, pod.UID, cur.ID, p.Exec.Command, nil, &out, &out)
		switch {
		case ctx.Err() == context.DeadlineExceeded:
			return false, fmt.Sprintf("command %q timed out", strings.Join(p.Exec.Command, " "))
		case err != nil:
			return false, err.Error()
		case code != 0:
			// Upstream's message is the command's output, whatever it is.
			return false, out.String()
		}
		return true, ""
	}
	// The sandbox's IP, known before the API has the pod's status.
	ip := ""
	if len(w.ips) > 0 {
		ip = w.ips[0]
	} else if len(pod.Status.PodIPs) > 0 {
		ip = pod.Status.PodIPs[0].IP
	}
	if ip == "" && (p.HTTPGet != nil && p.HTTPGet.Host == "" || p.TCPSocket != nil && p.TCPSocket.Host == "" || p.GRPC != nil) {
		return false, "the pod has no IP address"
	}
	return kl.prober.probe(ctx, p, ip, c)
}

// prober runs network probes.
type prober interface {
	probe(ctx context.Context, p *corev1.Probe, podIP string, c *corev1.Container) (bool, string)
}

type netProber struct{}

func (netProber) probe(ctx context.Context, p *corev1.Probe, podIP string, c *corev1.Container) (bool, string) {
	switch {
	case p.HTTPGet != nil:
		return probeHTTP(ctx, p.HTTPGet, podIP, c)
	case p.TCPSocket != nil:
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return false, err.Error()
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	case p.GRPC != nil:
		conn, err := grpc.NewClient(net.JoinHostPort(podIP, strconv.Itoa(int(p.GRPC.Port))), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return false, err.Error()
		}
		defer conn.Close()
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return false, err.Error()
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return false, fmt.Sprintf("service unhealthy (responded with %q)", resp.Status)
		}
		return true, ""
	}
	return false, "probe has no handler"
}

func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("port %q not found in container %s", port.StrVal, c.Name)
}

func probeHTTP(ctx context.Context, g *corev1.HTTPGetAction, podIP string, c *corev1.Container) (bool, string) {
	host := g.Host
	if host == "" {
		host = podIP
	}
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return false, err.Error()
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: g.Path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err.Error()
	}
	for _, h := range g.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}
