package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The Go standard library has no SCTP, so SCTP uses raw one-to-one style
// sockets (SOCK_STREAM, IPPROTO_SCTP): they connect, accept, read and write
// like TCP. Sockets are non-blocking and waited on with poll in short
// slices, so that cancellation is noticed without extra machinery.

// errSCTPUnsupported reports that the kernel cannot make SCTP sockets.
var errSCTPUnsupported = errors.New("SCTP not supported by this kernel")

// pollSlice is how often blocking waits look at their context.
const pollSlice = 100 * time.Millisecond

// sctpSocket makes a non-blocking SCTP socket of the given family. A kernel
// built without SCTP (or with the module blocked) answers EPROTONOSUPPORT,
// some sandboxes ESOCKTNOSUPPORT: both become errSCTPUnsupported.
func sctpSocket(family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.ESOCKTNOSUPPORT) {
		return -1, fmt.Errorf("%w: %w", errSCTPUnsupported, err)
	}
	if err != nil {
		return -1, fmt.Errorf("SCTP socket: %w", err)
	}
	return fd, nil
}

// checkSCTP reports whether SCTP sockets can be made at all.
func checkSCTP() error {
	fd, err := sctpSocket(unix.AF_INET)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// waitFD polls fd for events until it is ready, the deadline passes
// (os.ErrDeadlineExceeded) or ctx is done (its error).
func waitFD(ctx context.Context, fd int, events int16, deadline time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		ms := int(min(left, pollSlice).Milliseconds()) + 1
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}

func sockaddr(ip netip.Addr, port int) (unix.Sockaddr, int) {
	if ip.Is4() || ip.Is4In6() {
		return &unix.SockaddrInet4{Port: port, Addr: ip.Unmap().As4()}, unix.AF_INET
	}
	return &unix.SockaddrInet6{Port: port, Addr: ip.As16()}, unix.AF_INET6
}

// dialSCTP connects to ip:port before the deadline and then reads the
// first line the server sends, if any arrives in time. A connection that
// is established counts even if no banner arrives.
func dialSCTP(ctx context.Context, ip netip.Addr, port int, deadline time.Time) (reply string, err error) {
	sa, family := sockaddr(ip, port)
	fd, err := sctpSocket(family)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, sa)
	if errors.Is(err, unix.EINPROGRESS) || errors.Is(err, unix.EINTR) {
		if err = waitFD(ctx, fd, unix.POLLOUT, deadline); err != nil {
			return "", err
		}
		var soerr int
		if soerr, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && soerr != 0 {
			err = unix.Errno(soerr)
		}
	}
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	buf := make([]byte, 256)
	for waitFD(ctx, fd, unix.POLLIN, deadline) == nil {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if n > 0 {
			return string(buf[:n]), nil
		}
		break
	}
	return "", nil
}

// sctpListener is a listening SCTP socket.
type sctpListener struct {
	fd int

	mu      sync.Mutex
	closed  bool // Close was called
	serving bool // serve owns fd and will close it
	done    chan struct{}
}

// listenSCTP listens on 0.0.0.0:port.
func listenSCTP(port int) (*sctpListener, error) {
	fd, err := sctpSocket(unix.AF_INET)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_REUSEADDR: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen: %w", err)
	}
	return &sctpListener{fd: fd, done: make(chan struct{})}, nil
}

// Close stops serve. When serve is running, it closes the socket itself as
// it returns, so that the descriptor is never reused under a running poll.
func (l *sctpListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.done)
	if !l.serving {
		return unix.Close(l.fd)
	}
	return nil
}

// serve accepts until Close (or ctx), writing text to every connection.
func (l *sctpListener) serve(ctx context.Context, wg *sync.WaitGroup, text string, lg *logger) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.serving = true
	l.mu.Unlock()
	defer unix.Close(l.fd)
	stopped, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.done:
			cancel()
		case <-stopped.Done():
		}
	}()
	for {
		err := waitFD(stopped, l.fd, unix.POLLIN, time.Now().Add(time.Hour))
		if stopped.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			lg.printf("SCTP accept: %v", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		nfd, _, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			lg.printf("SCTP accept: %v", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		wg.Go(func() {
			defer unix.Close(nfd)
			// The accepted socket is blocking: bound the write instead.
			tv := unix.NsecToTimeval(writeTimeout.Nanoseconds())
			_ = unix.SetsockoptTimeval(nfd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
			_, _ = unix.Write(nfd, []byte(text))
		})
	}
}
