package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/dbopsd/dbopsd/report/chartfont"
)

// What a report "name" { } block says beyond schedule, language and
// notify:
//
//	report "monthly" {
//	  schedule  = "monthly"           # or "weekly" (Mondays), or cron
//	  kind      = "monthly"           # monthly | weekly; default: the schedule's name, else the label's, else monthly
//	  per       = "site"              # site (one report) | database (one each)
//	  site      = "市大数据中心"        # the name in the title; default the block's label
//	  databases = ["population"]      # default: every database
//	  font      = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
//	  dictionaries = "changed"        # attach the data dictionary of: changed (default) | all
//	  language  = "zh-CN"
//	  notify    = ["bureau"]
//	}

// Report scopes, and which data dictionaries a monthly report attaches.
const (
	ReportPerSite     = "site"
	ReportPerDatabase = "database"

	DictionariesChanged = "changed" // of the databases whose schema changed
	DictionariesAll     = "all"
)

// ReportPolicy is the part of a report block that says what is reported
// and how it is drawn.
type ReportPolicy struct {
	Kind      string   // Monthly or Weekly
	Per       string   // ReportPerSite (default) or ReportPerDatabase
	Site      string   // the title's site name; default the block's label
	Databases []string // empty: every database
	// Font is the chart font (a CJK .ttc or .otf; default
	// chartfont.DefaultFontPath), checked at load: a missing font is a
	// policy error, not boxes in a chart.
	Font string
	// Dictionaries says whose data dictionary is attached:
	// DictionariesChanged (default) or DictionariesAll.
	Dictionaries string
}

func (d *decoder) decodeReportPolicy(a hcl.Attributes, r *Report) {
	d.str(a, "kind", &r.Kind)
	d.str(a, "per", &r.Per)
	d.str(a, "site", &r.Site)
	d.strings(a, "databases", &r.Databases)
	d.path(a, "font", &r.Font)
	d.str(a, "dictionaries", &r.Dictionaries)
	if r.Dictionaries == "" && !d.has(r, "dictionaries") {
		r.Dictionaries = DictionariesChanged
	}
	if r.Per == "" && !d.has(r, "per") {
		r.Per = ReportPerSite
	}
	if r.Site == "" {
		r.Site = r.Name
	}
	if r.Kind == "" && !d.has(r, "kind") {
		// A cron schedule says when, not what: the label says it
		// (report "weekly" { schedule = "0 8 * * 1" }), else monthly.
		switch {
		case r.Schedule == Monthly || r.Schedule == Weekly:
			r.Kind = r.Schedule
		case r.Name == Weekly:
			r.Kind = Weekly
		default:
			r.Kind = Monthly
		}
	}
	if r.Font == "" {
		r.Font = chartfont.DefaultFontPath
	}
}

func (d *decoder) validateReportPolicy(cfg *Config, r *Report, owner string) {
	d.oneOf(r, "kind", r.Kind, owner, []string{Monthly, Weekly})
	d.oneOf(r, "per", r.Per, owner, []string{ReportPerSite, ReportPerDatabase})
	d.oneOf(r, "dictionaries", r.Dictionaries, owner, []string{DictionariesChanged, DictionariesAll})
	for _, db := range r.Databases {
		ref(d, r, "databases", db, owner, "database", cfg.Databases)
	}
	if err := chartfont.Check(r.Font); err != nil {
		d.errorf(d.at(r, "font"), "Unusable chart font", "%s: the chart font cannot be used: %v.", owner, err)
	}
}
