package mssql

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dbopsd/dbopsd/engines/mssql/blobsrv"
	"github.com/dbopsd/dbopsd/internal/fault"
)

// ListenerConfig is where the blob listener (package blobsrv) listens and
// how SQL Server reaches it: the policy's daemon settings mssql_listen and
// mssql_url, with the certificate of tls_cert and tls_key.
type ListenerConfig struct {
	Listen   string // host:port
	URL      string // https://NAME (port 443: SQL Server uses no other), NAME in the certificate
	CertFile string
	KeyFile  string
}

// listener is the process's one blob listener: configured by the
// composition root (Configure), started by the first backup or restore
// that needs it, and serving every one after it. Each job has its own
// container and SAS on it.
var listener struct {
	sync.Mutex
	cfg    ListenerConfig
	srv    *blobsrv.Server
	stop   context.CancelFunc
	done   chan error
	logger hclog.Logger
}

// Configure sets the listener's settings; a listener running with other
// settings is stopped (the next job starts the new one). The zero
// ListenerConfig means none: backups and restores then fail saying so.
func Configure(cfg ListenerConfig, logger hclog.Logger) {
	listener.Lock()
	defer listener.Unlock()
	if cfg == listener.cfg {
		return
	}
	if listener.stop != nil {
		listener.stop()
		<-listener.done
		listener.srv, listener.stop, listener.done = nil, nil, nil
	}
	listener.cfg, listener.logger = cfg, logger
}

// errNoListener: the policy names no listener.
var errNoListener = errors.New("SQL Server backs up to and restores from dbopsd's blob listener, and the policy sets none: set mssql_listen, mssql_url, tls_cert and tls_key in the daemon block")

// blobServer returns the running listener, starting it if need be.
func blobServer() (*blobsrv.Server, error) {
	listener.Lock()
	defer listener.Unlock()
	if listener.srv != nil {
		select {
		case err := <-listener.done:
			// It stopped on its own (the port went away): start again.
			listener.srv, listener.stop, listener.done = nil, nil, nil
			if listener.logger != nil {
				listener.logger.Warn("the blob listener had stopped; starting it again", "error", err)
			}
		default:
			return listener.srv, nil
		}
	}
	cfg := listener.cfg
	if cfg.Listen == "" || cfg.URL == "" {
		return nil, fault.Permanent(errNoListener)
	}
	certs := &certFiles{cert: cfg.CertFile, key: cfg.KeyFile}
	if _, err := certs.get(nil); err != nil {
		return nil, err
	}
	log := listener.logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	srv := blobsrv.New(blobsrv.Options{URL: cfg.URL, Logger: log.Named("blobsrv")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan error, 1)
	go func() { done <- srv.Run(ctx, cfg.Listen, certs.get, ready) }()
	if err := <-ready; err != nil {
		cancel()
		<-done
		return nil, fmt.Errorf("starting the blob listener on %s (mssql_listen): %w", cfg.Listen, err)
	}
	listener.srv, listener.stop, listener.done = srv, cancel, done
	log.Info("blob listener started", "listen", cfg.Listen, "url", cfg.URL)
	return srv, nil
}

// certFiles serves tls_cert and tls_key, loaded again when either file
// changes: a renewed certificate is served from the next handshake on. A
// pair that does not load keeps the one loaded before.
type certFiles struct {
	cert, key string

	mu      sync.Mutex
	loaded  *tls.Certificate
	modTime [2]time.Time
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var mt [2]time.Time
	for i, f := range []string{c.cert, c.key} {
		if fi, err := os.Stat(f); err == nil {
			mt[i] = fi.ModTime()
		}
	}
	if c.loaded != nil && mt == c.modTime {
		return c.loaded, nil
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		if c.loaded != nil {
			return c.loaded, nil
		}
		return nil, fmt.Errorf("blob listener: loading tls_cert and tls_key: %w", err)
	}
	c.loaded, c.modTime = &pair, mt
	return c.loaded, nil
}
