package site_test

import (
	"testing"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/site"
)

// TestReportJobSources: a report run from the policy reads the month's
// table maintenance and reconciliations (report/operations_test.go checks
// what the adapters read from a real catalog).
func TestReportJobSources(t *testing.T) {
	cfg := jobsPolicy(t)
	rep := &config.Report{Name: "monthly", Language: config.DefaultLanguage, ReportPolicy: config.ReportPolicy{Kind: "monthly"}}
	job, err := site.ReportJob(cfg, rep, "2026-11", "", "", site.Run{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Sources.Maintenance == nil || job.Sources.Reconciliations == nil {
		t.Errorf("ReportJob sources: maintenance %v, reconciliations %v", job.Sources.Maintenance, job.Sources.Reconciliations)
	}
}
