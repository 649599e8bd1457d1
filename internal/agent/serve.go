package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// writeTimeout bounds how long a TCP or SCTP client may take to accept the
// banner, so that a stuck client cannot pin a goroutine.
const writeTimeout = 2 * time.Second

// Serve listens on every port, on all addresses of the current network
// namespace (0.0.0.0, and :: where the kernel allows dual-stack sockets),
// until ctx is done:
//
//   - TCP accepts each connection, writes "netlab <pod> <port>/TCP\n" and
//     closes it;
//   - UDP answers every datagram with "netlab <pod> <port>/UDP\n";
//   - SCTP accepts and writes "netlab <pod> <port>/SCTP\n", or, when the
//     kernel has no SCTP, logs that and skips the port: a lab with an SCTP
//     port must still run on such a machine.
//
// Every socket is bound before Serve starts serving, and a port that
// cannot be bound (in use, no permission) makes Serve return an error
// without serving any. Otherwise Serve returns nil once ctx is done and
// everything is closed. Progress and problems are logged to log (which
// may be nil).
func Serve(ctx context.Context, pod string, ports []Port, log io.Writer) error {
	lg := &logger{w: log, pod: pod}
	var (
		servers []func(context.Context, *sync.WaitGroup)
		closers []io.Closer
	)
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	seen := make(map[Port]bool)
	var lc net.ListenConfig
	for _, p := range ports {
		proto, ok := normProtocol(p.Protocol)
		if !ok {
			closeAll()
			return fmt.Errorf("agent: port %d: unknown protocol %q", p.Port, p.Protocol)
		}
		if p.Port < 1 || p.Port > 65535 {
			closeAll()
			return fmt.Errorf("agent: port %d/%s out of range", p.Port, proto)
		}
		key := Port{Port: p.Port, Protocol: proto}
		if seen[key] {
			continue // listed twice: one socket serves both
		}
		seen[key] = true
		addr := net.JoinHostPort("0.0.0.0", strconv.Itoa(p.Port))
		text := banner(pod, p.Port, proto)
		switch proto {
		case TCP:
			ln, err := lc.Listen(ctx, "tcp", addr)
			if err != nil {
				closeAll()
				return fmt.Errorf("agent: listening on %d/TCP: %w", p.Port, err)
			}
			closers = append(closers, ln)
			servers = append(servers, func(ctx context.Context, wg *sync.WaitGroup) { serveTCP(ctx, wg, ln, text, lg) })
		case UDP:
			pc, err := lc.ListenPacket(ctx, "udp", addr)
			if err != nil {
				closeAll()
				return fmt.Errorf("agent: listening on %d/UDP: %w", p.Port, err)
			}
			closers = append(closers, pc)
			servers = append(servers, func(_ context.Context, _ *sync.WaitGroup) { serveUDP(pc, text, lg) })
		case SCTP:
			ln, err := listenSCTP(p.Port)
			if errors.Is(err, errSCTPUnsupported) {
				lg.printf("SCTP is not supported by this kernel; not serving %d/SCTP", p.Port)
				continue
			}
			if err != nil {
				closeAll()
				return fmt.Errorf("agent: listening on %d/SCTP: %w", p.Port, err)
			}
			closers = append(closers, ln)
			servers = append(servers, func(ctx context.Context, wg *sync.WaitGroup) { ln.serve(ctx, wg, text, lg) })
		}
		lg.printf("listening on %d/%s", p.Port, proto)
	}

	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() { s(ctx, &wg) })
	}
	lg.printf("serving %d port(s)", len(servers))
	<-ctx.Done()
	closeAll()
	wg.Wait()
	lg.printf("stopped")
	return nil
}

// serveTCP accepts until the listener is closed. Connection handlers are
// added to wg so that Serve waits for them.
func serveTCP(ctx context.Context, wg *sync.WaitGroup, ln net.Listener, text string, lg *logger) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			// EMFILE and friends: back off instead of spinning.
			lg.printf("accept on %s: %v", ln.Addr(), err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		wg.Go(func() {
			defer conn.Close()
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			_, _ = io.WriteString(conn, text)
		})
	}
}

// serveUDP answers every datagram until the socket is closed.
func serveUDP(pc net.PacketConn, text string, lg *logger) {
	buf := make([]byte, 64*1024)
	reply := []byte(text)
	for {
		_, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			lg.printf("read on %s: %v", pc.LocalAddr(), err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if _, err := pc.WriteTo(reply, addr); err != nil {
			lg.printf("reply to %s: %v", addr, err)
		}
	}
}
