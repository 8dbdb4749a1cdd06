// Command faxservice is a reference HIPAA-minded fax service built on
// faxkit: an HTTPS API (token authentication, automatic logoff), an
// outbound queue sending over T.38, a T.38 listener receiving inbound
// faxes straight into a sealed store, default-deny access with every
// decision audited, and a retention purge.
//
//	go run ./examples/faxservice -dir /tmp/faxsvc
//
// prints API tokens for a sender, an inbox user and an auditor, then
// serves. Send a fax to the service's own T.38 port and read it back:
//
//	curl -k -H "Authorization: Bearer $SENDER" --data-binary @letter.tif \
//	     "https://127.0.0.1:8443/v1/faxes?to=127.0.0.1:4000"
//	curl -k -H "Authorization: Bearer $INBOX" https://127.0.0.1:8443/v1/faxes
//	curl -k -H "Authorization: Bearer $INBOX" -o fax.tif \
//	     https://127.0.0.1:8443/v1/faxes/ID/content
//
// This is an example, not a product: grants and fax statuses live in
// memory, keys sit in local files, and the TLS certificate is self-signed
// unless -cert and -key are given.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/phi"
)

func main() {
	dir := flag.String("dir", "", "state directory (store, keys, audit log); required")
	httpAddr := flag.String("http", "127.0.0.1:8443", "HTTPS API address")
	t38Addr := flag.String("t38", "127.0.0.1:4000", "UDP address for inbound T.38 calls")
	cert := flag.String("cert", "", "TLS certificate (PEM); default a self-signed one")
	key := flag.String("key", "", "TLS key (PEM)")
	retention := flag.Duration("retention", 30*24*time.Hour, "how long faxes are kept")
	pace := flag.Bool("pace", true, "real-time pacing (needed towards gateways)")
	workers := flag.Int("workers", 4, "concurrent outbound calls")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "faxservice: -dir is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(phi.NewRedactingHandler(slog.NewTextHandler(os.Stderr, nil), nil))
	if err := run(ctx, logger, *dir, *httpAddr, *t38Addr, *cert, *key, *retention, *pace, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "faxservice:", err)
		os.Exit(1)
	}
}

// open builds a Service on dir.
func open(ctx context.Context, dir string, retention time.Duration) (*Service, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	kek, err := phi.OpenOrCreateLocalKeyFile(filepath.Join(dir, "kek.json"))
	if err != nil {
		return nil, err
	}
	store, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: filepath.Join(dir, "store"), Keys: kek, DefaultRetention: retention})
	if err != nil {
		return nil, err
	}
	ak, err := phi.OpenOrCreateAuditKeyFile(filepath.Join(dir, "audit.key"), "faxservice")
	if err != nil {
		return nil, err
	}
	audit, err := phi.OpenAuditLog(phi.AuditConfig{Dir: filepath.Join(dir, "audit"), Keys: ak})
	if err != nil {
		return nil, err
	}
	return &Service{
		Guard: &phi.Guard{Store: store, Policy: phi.NewPolicy(audit, nil)},
		Auth:  phi.NewTokenAuthenticator(phi.AuthConfig{Audit: audit}),
		Audit: audit,
		Inbox: "inbox-user",
	}, nil
}

func run(ctx context.Context, logger *slog.Logger, dir, httpAddr, t38Addr, certFile, keyFile string, retention time.Duration, pace bool, workers int) error {
	svc, err := open(ctx, dir, retention)
	if err != nil {
		return err
	}
	defer svc.Audit.Close()
	svc.Logger = logger
	svc.FaxOptions = faxkit.Options{Logger: logger, Timeout: 30 * time.Minute}
	if !pace {
		svc.FaxOptions.T38.Pacing = faxkit.Unpaced
	}
	faxAddr, err := svc.Start(ctx, workers, t38Addr)
	if err != nil {
		return err
	}
	fmt.Printf("T.38 inbound on udp %s\n", faxAddr)
	fmt.Printf("SENDER=%s\n", svc.Auth.Issue(phi.Principal{ID: "sender-user", Roles: []phi.Role{phi.RoleSender}}))
	fmt.Printf("INBOX=%s\n", svc.Auth.Issue(phi.Principal{ID: svc.Inbox, Roles: []phi.Role{phi.RoleReceiver}}))
	fmt.Printf("AUDITOR=%s\n", svc.Auth.Issue(phi.Principal{ID: "auditor-user", Roles: []phi.Role{phi.RoleAuditor}}))

	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if ids, err := svc.Purge(ctx); err != nil || len(ids) > 0 {
				logger.Info("retention purge", "deleted", len(ids), "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return err
		}
		tlsCfg.Certificates = []tls.Certificate{c}
	} else {
		c, err := selfSigned()
		if err != nil {
			return err
		}
		tlsCfg.Certificates = []tls.Certificate{c}
	}
	ln, err := tls.Listen("tcp", httpAddr, tlsCfg)
	if err != nil {
		return err
	}
	fmt.Printf("HTTPS API on https://%s/v1/faxes\n", ln.Addr())
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}

func selfSigned() (tls.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "faxservice example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}
