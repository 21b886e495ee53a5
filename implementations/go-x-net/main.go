// A plain hq-interop endpoint around golang.org/x/net/quic, for the interop
// runner: the server serves /www on UDP 443, the client fetches $REQUESTS
// into /downloads. run_endpoint.sh admits only the TESTCASE values handled
// here.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/quic"
	"golang.org/x/net/quic/qlog"
)

const alpn = "hq-interop"

func main() {
	testcase := os.Getenv("TESTCASE")
	var err error
	switch os.Getenv("ROLE") {
	case "server":
		err = server(testcase)
	case "client":
		err = client(testcase)
	default:
		err = errors.New("ROLE must be client or server")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-x-net endpoint: %v\n", err)
		os.Exit(1)
	}
}

func keyLog() io.Writer {
	name := os.Getenv("SSLKEYLOGFILE")
	if name == "" {
		return nil
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-x-net endpoint: no key log: %v\n", err)
		return nil
	}
	return f
}

func config(tlsConfig *tls.Config) *quic.Config {
	c := &quic.Config{TLSConfig: tlsConfig, MaxIdleTimeout: 30 * time.Second}
	if dir := os.Getenv("QLOGDIR"); dir != "" {
		c.QLogLogger = slog.New(qlog.NewJSONHandler(qlog.HandlerOptions{
			Level: quic.QLogLevelFrame,
			Dir:   dir,
		}))
	}
	return c
}

func server(testcase string) error {
	cert, err := tls.LoadX509KeyPair("/certs/cert.pem", "/certs/priv.key")
	if err != nil {
		return err
	}
	c := config(&tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{alpn},
		KeyLogWriter: keyLog(),
	})
	// With address validation required, every new client gets a Retry.
	c.RequireAddressValidation = testcase == "retry"
	endpoint, err := quic.Listen("udp", ":443", c)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "go-x-net server: listening on %v\n", endpoint.LocalAddr())
	ctx := context.Background()
	for {
		conn, err := endpoint.Accept(ctx)
		if err != nil {
			return err
		}
		go serveConn(ctx, conn)
	}
}

func serveConn(ctx context.Context, conn *quic.Conn) {
	for {
		stream, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		go func() {
			if err := serveRequest(stream); err != nil {
				fmt.Fprintf(os.Stderr, "go-x-net server: request: %v\n", err)
			}
		}()
	}
}

func serveRequest(stream *quic.Stream) error {
	defer stream.Close()
	line, err := bufio.NewReader(io.LimitReader(stream, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	target, ok := strings.CutPrefix(strings.TrimSpace(line), "GET ")
	if !ok {
		return fmt.Errorf("not an HTTP/0.9 GET: %q", line)
	}
	file, err := below("/www", target)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(stream, f)
	return err
}

// below joins a request path to root, refusing anything that leaves it.
func below(root, target string) (string, error) {
	clean := path.Clean("/" + target)
	if clean == "/" || strings.Contains(target, "..") {
		return "", fmt.Errorf("refusing path %q", target)
	}
	return filepath.Join(root, filepath.FromSlash(clean)), nil
}

func client(testcase string) error {
	var urls []*url.URL
	for _, raw := range strings.Fields(os.Getenv("REQUESTS")) {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return errors.New("no REQUESTS given")
	}
	pem, err := os.ReadFile("/certs/ca.pem")
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return errors.New("no certificate in /certs/ca.pem")
	}
	tlsConfig := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      roots,
		ServerName:   urls[0].Hostname(),
		NextProtos:   []string{alpn},
		KeyLogWriter: keyLog(),
	}
	endpoint, err := quic.Listen("udp", ":0", nil)
	if err != nil {
		return err
	}
	ctx := context.Background()
	defer endpoint.Close(ctx)
	address := net.JoinHostPort(urls[0].Hostname(), urls[0].Port())
	session := func(batch []*url.URL) error {
		conn, err := endpoint.Dial(ctx, "udp", address, config(tlsConfig))
		if err != nil {
			return err
		}
		err = fetchAll(ctx, conn, batch)
		conn.Close()
		return err
	}
	switch testcase {
	case "multiconnect":
		for _, u := range urls {
			if err := session([]*url.URL{u}); err != nil {
				return err
			}
		}
		return nil
	default:
		return session(urls)
	}
}

func fetchAll(ctx context.Context, conn *quic.Conn, urls []*url.URL) error {
	var wg sync.WaitGroup
	errs := make([]error, len(urls))
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fetch(ctx, conn, u.Path)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func fetch(ctx context.Context, conn *quic.Conn, target string) error {
	stream, err := conn.NewStream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	if _, err := fmt.Fprintf(stream, "GET %s\r\n", target); err != nil {
		return err
	}
	stream.CloseWrite()
	file, err := below("/downloads", target)
	if err != nil {
		return err
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, stream); err != nil {
		return fmt.Errorf("download %s: %w", target, err)
	}
	return nil
}
