package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus metrics. Labels are results and outcomes, never IDs or PHI.
var (
	callsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "faxservice", Name: "calls_total", Help: "Fax calls by direction and T.30 result.",
	}, []string{"direction", "result"})
	pagesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "faxservice", Name: "pages_total", Help: "Pages confirmed (outbound) or accepted (inbound).",
	}, []string{"direction"})
	attemptSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "faxservice", Name: "attempt_duration_seconds", Help: "Outbound call attempt duration.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12),
	})
	webhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "faxservice", Name: "webhook_deliveries_total", Help: "Webhook delivery attempts by outcome.",
	}, []string{"outcome"})
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "faxservice", Name: "http_requests_total", Help: "API requests by route pattern and status.",
	}, []string{"route", "code"})
)

// metricsHandler serves this instance's registry: the shared counters
// plus the queue depth read from the database at scrape time.
func (s *Service) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(callsTotal, pagesTotal, attemptSeconds, webhookDeliveries, httpRequests, alertsTotal)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "faxservice", Name: "queue_depth", Help: "Outbound jobs queued or leased.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var n int
		s.db.queryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'leased')`).Scan(&n)
		return float64(n)
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "faxservice", Name: "webhook_backlog", Help: "Webhook deliveries pending.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var n int
		s.db.queryRow(ctx, `SELECT COUNT(*) FROM deliveries WHERE state = 'pending'`).Scan(&n)
		return float64(n)
	}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
