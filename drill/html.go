package drill

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/internal/humanize"
)

// HTMLOptions tunes WriteHTML.
type HTMLOptions struct {
	Language string         // LangZH (default) or LangEN
	Location *time.Location // time zone of the times shown; nil = Local
}

// NormalizeLang maps "", "zh", "zh-CN", "cn" to LangZH and "en" to LangEN.
func NormalizeLang(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "zh", "zh-cn", "cn", "zh_cn", "zh-hans":
		return LangZH, nil
	case "en", "en-us", "en-gb":
		return LangEN, nil
	}
	return "", fmt.Errorf("language %q: want zh-CN or en", s)
}

// WriteHTML renders the report as one self-contained HTML page: inline CSS,
// no scripts, images or other external assets, tables only, so it prints
// well and reads the same in a browser and in a mail client.
func WriteHTML(w io.Writer, r *Report, o HTMLOptions) error {
	lang, err := NormalizeLang(o.Language)
	if err != nil {
		return err
	}
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	l := labels[lang]
	p := phrases{l: l, time: func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }}
	funcs := template.FuncMap{
		"t": func(key string) string {
			if s, ok := l[key]; ok {
				return s
			}
			return key
		},
		// tr translates a value with a prefix ("status.pass"), falling back
		// to the value itself.
		"tr": p.tr,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(loc).Format("2006-01-02 15:04:05 MST")
		},
		"dur":   func(d time.Duration) string { return humanDuration(d, lang) },
		"bytes": humanize.Bytes,
		"rate": func(n int64, d time.Duration) string {
			if d <= 0 || n <= 0 {
				return "—"
			}
			return humanize.Bytes(int64(float64(n)/d.Seconds())) + "/s"
		},
		"join": func(s []string) string {
			if len(s) == 0 {
				return "—"
			}
			return strings.Join(s, l["sep.names"])
		},
		"orDash": func(s string) string {
			if s == "" {
				return "—"
			}
			return s
		},
		"yesno": func(b bool) string {
			if b {
				return l["yes"]
			}
			return l["no"]
		},
		"statusColor": func(s string) template.CSS { return template.CSS(statusColors[s]) },
		"detail":      p.detail,
		"problems":    p.problems,
		"warnings":    p.warnings,
		"dispositionNote": func(t TargetInfo) string {
			if s, ok := p.text(t.DispositionMessage); ok {
				return s
			}
			return t.DispositionNote
		},
		"restoreSkipped": func(r *engines.RestoreReport) []string { return p.notes(r.Skipped, r.SkippedMessages) },
		"restoreNotes":   func(r *engines.RestoreReport) []string { return p.notes(r.Notes, r.NoteMessages) },
		"integritySkipped": func(r *engines.IntegrityReport) string {
			if s, ok := p.note(r.SkippedMessage); ok {
				return s
			}
			return r.Skipped
		},
	}
	tmpl, err := template.New("report").Funcs(funcs).Parse(page)
	if err != nil {
		return fmt.Errorf("drill report template: %w", err)
	}
	htmlLang := "zh-CN"
	if lang == LangEN {
		htmlLang = "en"
	}
	data := struct {
		R         *Report
		Lang      string
		S         map[string]template.CSS
		Generated string
	}{R: r, Lang: htmlLang, S: styles, Generated: time.Now().In(loc).Format("2006-01-02 15:04:05 MST")}
	if err := tmpl.Execute(w, data); err != nil {
		return fmt.Errorf("rendering drill report %s: %w", r.ID, err)
	}
	return nil
}

// phrases renders Messages in one language: the sentence of the message's
// key in the catalog (labels, "msg.<key>"), with its {parameters} filled
// in. Errors, reasons and findings go in verbatim.
type phrases struct {
	l    map[string]string
	time func(time.Time) string
}

// english renders the English stored beside each Message (Check.Detail,
// Report.Warnings, TargetInfo.DispositionNote), with times in UTC.
var english = phrases{l: labels[LangEN], time: func(t time.Time) string { return t.UTC().Format(time.RFC3339) }}

func englishText(m *Message) string {
	if s, ok := english.text(m); ok {
		return s
	}
	return m.Key // not reached: a test checks that every key has its English
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// text renders m; false when m is nil, or its key or a parameter is not in
// the catalog (a report from a newer dbopsd): show the stored English then.
func (p phrases) text(m *Message) (string, bool) {
	if m == nil {
		return "", false
	}
	return p.fill(p.l["msg."+m.Key], func(name string) (string, bool) { return p.param(m, name) })
}

func (p phrases) fill(tmpl string, param func(string) (string, bool)) (string, bool) {
	if tmpl == "" {
		return "", false
	}
	ok := true
	s := placeholder.ReplaceAllStringFunc(tmpl, func(ph string) string {
		v, found := param(ph[1 : len(ph)-1])
		ok = ok && found
		return v
	})
	return s, ok
}

func (p phrases) param(m *Message, name string) (string, bool) {
	switch name {
	case "backup":
		return m.Backup, true
	case "type":
		return p.tr("type", m.BackupType), true
	case "base":
		return m.Base, true
	case "taken":
		if m.Taken.IsZero() {
			return "—", true
		}
		return p.time(m.Taken), true
	case "tables":
		return strconv.Itoa(m.Tables), true
	case "names":
		return strings.Join(m.TableNames, p.l["sep.names"]), true
	case "rows":
		return strconv.FormatInt(m.Rows, 10), true
	case "bytes":
		return humanize.Bytes(m.Bytes), true
	case "target":
		return m.Target, true
	case "as":
		return m.Database, true
	case "tool":
		return m.Tool, true
	case "mismatched":
		return strconv.Itoa(len(m.Mismatches)), true
	case "mismatches":
		lines := make([]string, len(m.Mismatches))
		for i, mm := range m.Mismatches {
			s, ok := p.mismatch(mm)
			if !ok {
				return "", false
			}
			lines[i] = s
		}
		return strings.Join(lines, p.l["sep.list"]), true
	case "found":
		return strconv.Itoa(len(m.Findings)), true
	case "findings":
		return strings.Join(m.Findings, p.l["sep.list"]), true
	case "disposition":
		return p.tr("disposition", m.Disposition), true
	case "cause":
		return p.text(m.Cause)
	case "reason":
		if s, ok := p.note(m.ReasonMessage); ok {
			return s, true
		}
		return m.Reason, true
	case "error":
		return m.Error, true
	}
	return "", false
}

func (p phrases) mismatch(mm Mismatch) (string, bool) {
	return p.fill(p.l["msg.mismatch."+mm.Kind], func(name string) (string, bool) {
		switch name {
		case "table":
			return mm.Table, true
		case "backup_rows":
			return strconv.FormatInt(mm.BackupRows, 10), true
		case "restored_rows":
			return strconv.FormatInt(mm.RestoredRows, 10), true
		case "backup_checksum":
			return mm.BackupChecksum, true
		case "restored_checksum":
			return mm.RestoredChecksum, true
		}
		return "", false
	})
}

// note renders an engine's Note: the sentence of "note.<key>", its
// parameters verbatim (object names, SQL, what the server said) but for
// the kind of object, which is a word of the language, and What, the
// object the sentence is about, rendered the same way. False when n is
// nil, or its key or a parameter is not in the catalog: show the engine's
// English then.
func (p phrases) note(n *engines.Note) (string, bool) {
	if n == nil {
		return "", false
	}
	return p.fill(p.l["msg.note."+n.Key], func(name string) (string, bool) {
		switch name {
		case "what":
			return p.note(n.What)
		case "kind":
			v, ok := n.Params[name]
			return p.tr("object_kind", v), ok
		}
		v, ok := n.Params[name]
		return v, ok
	})
}

// notes are an engine's notes in the page's language, item by item, each
// as stored (in English) where its Note does not render; all as stored
// when the report has no Notes for them (an older dbopsd).
func (p phrases) notes(text []string, ns []engines.Note) []string {
	if len(ns) != len(text) {
		return text
	}
	lines := make([]string, len(text))
	for i := range ns {
		s, ok := p.note(&ns[i])
		if !ok {
			s = text[i]
		}
		lines[i] = s
	}
	return lines
}

func (p phrases) tr(prefix, v string) string {
	if s, ok := p.l[prefix+"."+v]; ok {
		return s
	}
	return v
}

// detail is what a check found, in the page's language; the stored Detail
// for a report without a Message (written by an older dbopsd).
func (p phrases) detail(c Check) string {
	if s, ok := p.text(c.Message); ok {
		return s
	}
	return c.Detail
}

// problems are why the drill failed, one line per failed check; a report
// whose failed checks lack Messages shows its stored Problems.
func (p phrases) problems(r *Report) []string {
	var lines []string
	for _, c := range r.Checks {
		if c.Status != Fail {
			continue
		}
		s, ok := p.text(c.Message)
		if !ok {
			return r.Problems
		}
		lines = append(lines, p.tr("check", c.Name)+p.l["sep"]+s)
	}
	if len(lines) == 0 {
		return r.Problems
	}
	return lines
}

// warnings are the report's warnings in the page's language, or as stored
// when the report has no Messages for them.
func (p phrases) warnings(r *Report) []string {
	if len(r.WarningMessages) != len(r.Warnings) {
		return r.Warnings
	}
	lines := make([]string, len(r.Warnings))
	for i := range r.WarningMessages {
		s, ok := p.text(&r.WarningMessages[i])
		if !ok {
			s = r.Warnings[i]
		}
		lines[i] = s
	}
	return lines
}

func humanDuration(d time.Duration, lang string) string {
	zh := lang == LangZH
	switch {
	case d <= 0:
		if zh {
			return "0 秒"
		}
		return "0 s"
	case d < time.Minute:
		s := d.Seconds()
		prec := 2
		if s >= 10 {
			prec = 1
		}
		if zh {
			return fmt.Sprintf("%.*f 秒", prec, s)
		}
		return fmt.Sprintf("%.*f s", prec, s)
	case d < time.Hour:
		m, s := int(d/time.Minute), int(math.Round((d % time.Minute).Seconds()))
		if zh {
			return fmt.Sprintf("%d 分 %d 秒", m, s)
		}
		return fmt.Sprintf("%d min %d s", m, s)
	}
	h, m := int(d/time.Hour), int((d%time.Hour)/time.Minute)
	if zh {
		return fmt.Sprintf("%d 小时 %d 分", h, m)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

var statusColors = map[string]string{
	Pass: "color:#1e7b34;", Fail: "color:#b3261e;", Warn: "color:#8a5a00;", Skip: "color:#5f6368;",
}

// styles are repeated inline on the elements, because many mail clients
// drop a <style> block; the block adds only what degrades gracefully.
var styles = map[string]template.CSS{
	"body":    `margin:0;padding:0;background:#f4f5f7;color:#1f2328;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:14px;line-height:1.5;`,
	"page":    `max-width:880px;margin:0 auto;background:#ffffff;padding:24px 28px;`,
	"h1":      `font-size:22px;margin:0 0 4px 0;font-weight:600;`,
	"sub":     `color:#57606a;font-size:13px;margin:0 0 16px 0;`,
	"h2":      `font-size:16px;font-weight:600;margin:24px 0 8px 0;padding-bottom:4px;border-bottom:2px solid #d0d7de;`,
	"table":   `width:100%;border-collapse:collapse;margin:0 0 8px 0;`,
	"th":      `text-align:left;background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;font-weight:600;vertical-align:top;`,
	"key":     `text-align:left;background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;font-weight:600;vertical-align:top;width:28%;white-space:nowrap;`,
	"td":      `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;word-break:break-word;`,
	"num":     `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;text-align:right;white-space:nowrap;`,
	"mono":    `border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12px;word-break:break-all;`,
	"pass":    `background:#e6f4ea;border-left:6px solid #1e7b34;padding:12px 16px;font-size:18px;font-weight:600;color:#1e7b34;`,
	"fail":    `background:#fce8e6;border-left:6px solid #b3261e;padding:12px 16px;font-size:18px;font-weight:600;color:#b3261e;`,
	"problem": `margin:4px 0 0 0;font-size:13px;font-weight:400;color:#1f2328;`,
	"footer":  `color:#57606a;font-size:12px;margin-top:24px;border-top:1px solid #d0d7de;padding-top:8px;`,
	"list":    `margin:0;padding-left:20px;`,
}

var labels = map[string]map[string]string{
	LangZH: {
		"title": "灾难恢复演练报告", "verdict": "结论", "verdict.pass": "通过", "verdict.fail": "未通过",
		"problems": "未通过原因", "warnings": "警告",
		"summary": "概要", "id": "演练编号", "scenario": "演练场景",
		"scenario.full": "整库恢复", "scenario.table": "单表恢复", "scenario.redirected": "异机恢复（其他服务器、其他库名）",
		"database": "数据库", "engine": "数据库引擎", "source_server": "源服务器", "target": "恢复目标",
		"target_server": "目标服务器", "restored_as": "恢复为", "tables_restored": "恢复的表", "all_tables": "全部表",
		"scratch": "临时库目标", "replace": "覆盖已有", "started": "开始时间", "finished": "结束时间",
		"disposition": "恢复副本处理", "disposition.dropped": "已删除", "disposition.kept": "已保留", "disposition.left": "未改动",
		"trigger": "触发方式", "host": "执行主机", "job": "作业编号",
		"rto": "恢复耗时（RTO）", "t_restore": "恢复耗时", "t_compare": "数据比对耗时", "t_integrity": "完整性检查耗时",
		"t_checks": "校验耗时合计", "t_cleanup": "清理耗时", "t_total": "总耗时", "bytes_read": "读取数据量", "rate": "恢复速率",
		"request": "申请与审批", "request_id": "申请编号", "action": "申请类型", "action.drill": "恢复演练",
		"action.restore": "恢复", "requester": "申请人", "approvers": "审批人", "reason": "原因", "created": "申请时间",
		"valid": "有效期", "digest": "请求摘要（SHA-256）", "register_ref": "登记表条目", "signatures": "签名",
		"signer": "签名人", "role": "角色", "key_type": "密钥类型", "fingerprint": "密钥指纹",
		"role.requester": "申请人", "role.approver": "审批人", "role.not counted": "不计入", "no_request": "本次演练不是由签名请求发起。",
		"backup": "使用的备份", "chain": "备份链", "backup_id": "备份编号", "type": "类型",
		"type.full": "全量", "type.differential": "差异", "base": "所属全量", "taken": "备份时间",
		"server_version": "服务器版本", "position": "一致性位置", "tables": "表数", "rows": "行数",
		"raw_size": "原始大小", "stored_size": "存储大小", "unreadable": "无法读取",
		"checks": "检查项", "check": "检查", "result": "结果", "duration": "耗时", "detail": "说明",
		"check.backup": "备份可读", "check.restore": "恢复", "check.statistics": "数据比对（行数与校验和）",
		"check.integrity": "完整性检查", "check.cleanup": "清理",
		"status.pass": "通过", "status.fail": "未通过", "status.warn": "注意", "status.skip": "未执行",
		"table_cmp": "表数据比对", "table": "表", "backup_rows": "备份行数", "restored_rows": "恢复行数",
		"backup_checksum": "备份校验和", "restored_checksum": "恢复校验和", "equal": "一致",
		"notes": "备注", "skipped": "未恢复的对象", "restore_notes": "恢复说明", "findings": "完整性问题",
		"integrity_tool": "检查工具", "yes": "是", "no": "否",
		"generated": "由 dbopsd 生成", "at": "生成时间", "sep": "：", "sep.names": "、", "sep.list": "；",
		"trigger.request": "签名请求", "trigger.schedule": "按计划", "trigger.catch-up": "补做", "trigger.retry": "失败后重试",
		"trigger.after-backup": "备份后续任务", "trigger.cli": "命令行",
		// What engines and tools say is shown as they said it, after these.
		"engine_says": "数据库引擎报告：", "tool_says": "检查工具报告：", "not_run_engine": "未执行。数据库引擎说明：",

		// Sentences of Messages (message.go), with their {parameters}.
		"msg.backup.found":                 "备份 {backup}（{type}备份），备份时间 {taken}，共 {tables} 张表、{rows} 行",
		"msg.backup.found_differential":    "备份 {backup}（{type}备份，基于全量备份 {base}），备份时间 {taken}，共 {tables} 张表、{rows} 行",
		"msg.backup.error":                 "未能找到或读取要恢复的备份。错误信息：{error}",
		"msg.skip.no_backup":               "未执行：没有可恢复的备份",
		"msg.skip.nothing_restored":        "未执行：没有恢复任何数据",
		"msg.skip.restore_failed":          "未执行：恢复失败",
		"msg.restore.prepare_error":        "准备恢复目标时出错。错误信息：{error}",
		"msg.restore.error":                "恢复失败。错误信息：{error}",
		"msg.restore.database":             "已将备份 {backup} 的整个数据库恢复到 {target}，库名为“{as}”（读取 {bytes}）",
		"msg.restore.tables":               "已将备份 {backup} 中的表 {names} 恢复到 {target} 上的“{as}”库（读取 {bytes}）",
		"msg.statistics.error":             "无法计算恢复副本的统计信息。错误信息：{error}",
		"msg.statistics.equal":             "共 {tables} 张表、{rows} 行：行数和内容校验和均与备份时记录的一致",
		"msg.statistics.mismatch":          "比对的 {tables} 张表中有 {mismatched} 张与备份时记录的不一致：{mismatches}",
		"msg.mismatch.missing":             "表 {table} 在恢复副本中不存在",
		"msg.mismatch.rows":                "表 {table} 恢复了 {restored_rows} 行，备份时为 {backup_rows} 行",
		"msg.mismatch.checksum":            "表 {table} 的行数相同，但内容校验和不同：恢复后为 {restored_checksum}，备份时为 {backup_checksum}",
		"msg.integrity.error":              "完整性检查未能完成。错误信息：{error}",
		"msg.integrity.no_report":          "数据库引擎没有返回完整性检查结果",
		"msg.integrity.findings":           "{tool} 发现 {found} 个问题。检查工具报告：{findings}",
		"msg.integrity.skipped":            "未执行。数据库引擎说明：{reason}",
		"msg.integrity.ok":                 "{tool} 未发现问题",
		"msg.cleanup.disposition":          "{disposition}：{cause}",
		"msg.cleanup.gone":                 "{target} 上已没有“{as}”：{cause}",
		"msg.cleanup.dropped":              "已删除 {target} 上的“{as}”（已记入临时库登记表）",
		"msg.disposition.nothing_restored": "没有恢复任何数据",
		"msg.disposition.foreign_exists":   "目标上已有同名数据库，且不是 dbopsd 创建的，未作任何改动",
		"msg.disposition.nothing_to_drop":  "没有需要删除的数据库",
		"msg.disposition.not_scratch":      "恢复目标不是临时库目标，恢复出的数据库予以保留（dbopsd 只删除自己在临时库目标上创建的数据库）",
		"msg.disposition.into_existing":    "表恢复到了一个并非 dbopsd 创建的已有数据库中，该库保持原样",
		"msg.disposition.keep_asked":       "本次演练要求保留恢复副本",
		"msg.disposition.keep_on_failure":  "演练未通过，留作检查（keep_on_failure）",
		"msg.disposition.drop_failed":      "删除恢复副本失败，守护进程下次启动时的清理会重试。错误信息：{error}",
		"msg.disposition.engine_removed":   "数据库引擎已自行删除未恢复完成的数据库，无需再删除",
		"msg.disposition.dropped":          "本次演练创建的临时恢复副本，演练结束后即删除",
		"msg.warning.full_unreadable":      "此差异备份所基于的全量备份 {base} 无法读取。错误信息：{error}",
		"msg.warning.scratch_ledger":       "写入临时库登记表失败。错误信息：{error}",

		// What engines say (engines.Note, "note.<key>"); their English is
		// the engines' own (engines.NoteSentences).
		"object_kind.routine": "存储过程/函数", "object_kind.view": "视图", "object_kind.trigger": "触发器", "object_kind.event": "事件",
		"msg.note.postgres.ownership_not_restored":  "对象的属主和授权未恢复：目标服务器上缺少角色 {roles}；对象改归执行恢复的用户 {user} 所有",
		"msg.note.postgres.policy_not_created":      "表 {table} 上的行级安全策略 {policy} 未创建：它引用的角色在目标服务器上不存在（{roles}）",
		"msg.note.postgres.foreign_key_not_created": "表 {table} 上的外键 {constraint} 未创建：它引用的表 {references} 不在数据库 {database} 中",
		"msg.note.postgres.database_owner_missing":  "数据库 {database} 的属主未设为 {owner}：目标服务器上没有角色 {owner}，数据库归执行恢复的用户所有",
		"msg.note.postgres.refused":                 "{what}：未能应用，目标服务器拒绝执行。服务器报告：{error}（错误码 {sqlstate}）",
		"msg.note.postgres.role_missing":            "{what}：未恢复，目标服务器上没有角色 {role}",
		"msg.note.postgres.grantor_missing":         "{what}：未恢复，授权者角色 {role} 在目标服务器上不存在",
		"msg.note.postgres.unknown_privilege":       "{what}：未恢复，其中有本版本不认识的数据库权限",
		"msg.note.postgres.no_grant_option":         "{what}：未恢复，{role} 在目标服务器上没有转授该权限的权利",
		"msg.note.postgres.older_server":            "将 PostgreSQL {backup_version} 的备份恢复到了版本较低的服务器（PostgreSQL {server_version}）",
		"msg.note.postgres.default_collation":       "源数据库的排序规则 {collation} 在目标服务器上不可用，数据库已按目标服务器的默认排序规则创建。服务器报告：{error}",
		"msg.note.postgres.partition_standalone":    "分区 {table} 作为独立的表恢复：它所属的分区表不在本次恢复范围内",
		"msg.note.postgres.no_pg_amcheck":           "找不到可用的 pg_amcheck。错误信息：{error}",
		"msg.note.postgres.amcheck_unavailable":     "服务器上没有 amcheck 扩展（它随 postgresql-contrib 软件包提供）",
		"msg.note.postgres.amcheck_not_created":     "无法创建 amcheck 扩展。服务器报告：{error}",
		"msg.note.postgres.database_owner":          "数据库 {database} 的属主 {owner}",
		"msg.note.postgres.connection_limit":        "数据库 {database} 的连接数上限",
		"msg.note.postgres.database_comment":        "数据库 {database} 的注释",
		"msg.note.postgres.revoke":                  "撤销 {role} 在数据库 {database} 上的全部权限",
		"msg.note.postgres.grant":                   "授予 {grantee} 数据库 {database} 的 {privileges} 权限",
		"msg.note.postgres.grant_with_option":       "授予 {grantee} 数据库 {database} 的 {privileges} 权限（可转授）",
		"msg.note.postgres.grant_by":                "由 {grantor} 授予 {grantee} 数据库 {database} 的 {privileges} 权限",
		"msg.note.postgres.grant_with_option_by":    "由 {grantor} 授予 {grantee} 数据库 {database} 的 {privileges} 权限（可转授）",
		"msg.note.postgres.database_setting":        "数据库 {database} 的参数设置 {setting}",
		"msg.note.postgres.role_setting":            "角色 {role} 在数据库 {database} 中的参数设置 {setting}",
		"msg.note.mysql.foreign_key_not_recreated":  "表 {table} 的外键未重建：它引用的表不在本次恢复范围内。外键定义：{definition}",
		"msg.note.mysql.programs_not_recreated":     "单表恢复不重建视图、存储过程/函数和事件（共 {count} 个）",
		"msg.note.mysql.users_and_grants":           "用户和授权未恢复：它们不属于数据库备份的内容",
		"msg.note.mysql.object_refused":             "{kind} {object} 未能创建，执行恢复的账号权限不足。服务器报告：{error}",
		"msg.note.mysql.definer_missing":            "已恢复的视图、存储过程/函数、触发器或事件的定义者（DEFINER）账号 {definer} 在目标服务器上不存在：请创建该账号，否则使用这些对象时会出错",
		"msg.note.mysql.definer_unchecked":          "有对象以定义者（DEFINER）账号 {definer} 的身份运行；未能确认目标服务器上是否有该账号",
		"msg.note.mysql.definer_replaced":           "{kind} {object} 改以执行恢复的账号为定义者（DEFINER）重建，而不是 {definer}（该账号无权指定其他定义者）",
		"msg.note.mysql.event_disabled":             "事件 {event} 以禁用状态（DISABLED）重建：数据库恢复时改了库名（执行 ALTER EVENT ... ENABLE 可启用）",
		"msg.note.mysql.history_not_restored":       "表 {table} 的系统版本历史未恢复，只恢复了当前行。原因：{reason}",
		"msg.note.mysql.history_not_loadable":       "表 {table} 的系统版本历史未恢复，只恢复了当前行：该服务器无法载入行历史（需要 MariaDB 10.11 的 system_versioning_insert_history）",
		"msg.note.mysql.history_transaction_ids":    "表 {table} 的系统版本历史未恢复，只恢复了当前行：该表按事务精确版本化（行的起止是事务号，无法重建）",
		"msg.note.mysql.restored":                   "已恢复 {tables} 张表、{rows} 行，用时 {took}（加载方式 {method}，调度策略 {strategy}）",
		"msg.note.mysql.local_infile_off":           "服务器关闭了 local_infile：改用 INSERT 批量插入加载数据，比 LOAD DATA 慢",
		"msg.note.mysql.load_data_refused":          "服务器拒绝了 LOAD DATA LOCAL INFILE，改用 INSERT 批量插入加载数据，速度较慢。服务器报告：{error}",
		"msg.note.mysql.load_warnings":              "表 {table} 加载时产生 {count} 条警告，例如：{warnings}",
		"msg.note.mysql.binlog_off":                 "本次恢复未写入目标服务器的二进制日志（sql_log_bin=0），其从库不会收到",
		"msg.note.mysql.binlog_on":                  "本次恢复写入了目标服务器的二进制日志，其从库也会收到：执行恢复的账号无权设置 sql_log_bin。服务器报告：{error}",
		"msg.note.mysql.no_tables":                  "数据库中没有表",
	},
	LangEN: {
		"title": "Disaster recovery drill report", "verdict": "Verdict", "verdict.pass": "PASSED", "verdict.fail": "FAILED",
		"problems": "Why it failed", "warnings": "Warnings",
		"summary": "Summary", "id": "Drill ID", "scenario": "Scenario",
		"scenario.full": "Full restore", "scenario.table": "Single-table restore", "scenario.redirected": "Redirected restore (other server, other name)",
		"database": "Database", "engine": "Engine", "source_server": "Source server", "target": "Restore target",
		"target_server": "Target server", "restored_as": "Restored as", "tables_restored": "Tables restored", "all_tables": "all tables",
		"scratch": "Scratch target", "replace": "Replace existing", "started": "Started", "finished": "Finished",
		"disposition": "Restored copy", "disposition.dropped": "dropped", "disposition.kept": "kept", "disposition.left": "left in place",
		"trigger": "Trigger", "host": "Host", "job": "Job",
		"rto": "Recovery time (RTO)", "t_restore": "Restore time", "t_compare": "Statistics comparison", "t_integrity": "Integrity check",
		"t_checks": "Checks total", "t_cleanup": "Cleanup", "t_total": "Total", "bytes_read": "Data read", "rate": "Restore rate",
		"request": "Request and approvals", "request_id": "Request ID", "action": "Action", "action.drill": "drill",
		"action.restore": "restore", "requester": "Requester", "approvers": "Approvers", "reason": "Reason", "created": "Created",
		"valid": "Valid", "digest": "Request digest (SHA-256)", "register_ref": "Register entry", "signatures": "Signatures",
		"signer": "Signer", "role": "Role", "key_type": "Key type", "fingerprint": "Key fingerprint",
		"role.requester": "requester", "role.approver": "approver", "role.not counted": "not counted",
		"no_request": "This drill was not started by a signed request.", "backup": "Backup used", "chain": "Backup chain", "backup_id": "Backup ID", "type": "Type",
		"type.full": "full", "type.differential": "differential", "base": "Full backup", "taken": "Taken",
		"server_version": "Server version", "position": "Position", "tables": "Tables", "rows": "Rows",
		"raw_size": "Raw size", "stored_size": "Stored size", "unreadable": "unreadable",
		"checks": "Checks", "check": "Check", "result": "Result", "duration": "Duration", "detail": "Detail",
		"check.backup": "Backup readable", "check.restore": "Restore", "check.statistics": "Statistics (rows and checksums)",
		"check.integrity": "Integrity check", "check.cleanup": "Cleanup",
		"status.pass": "pass", "status.fail": "FAIL", "status.warn": "warning", "status.skip": "not run",
		"table_cmp": "Table comparison", "table": "Table", "backup_rows": "Rows backed up", "restored_rows": "Rows restored",
		"backup_checksum": "Checksum backed up", "restored_checksum": "Checksum restored", "equal": "Equal",
		"notes": "Notes", "skipped": "Not restored", "restore_notes": "Restore notes", "findings": "Integrity findings",
		"integrity_tool": "Tool", "yes": "yes", "no": "no",
		"generated": "Generated by dbopsd", "at": "at", "sep": ": ", "sep.names": ", ", "sep.list": "; ",
		"trigger.request": "signed request",
		"engine_says":     "As reported by the engine:", "tool_says": "As reported by the tool:", "not_run_engine": "not run; the engine said: ",

		"msg.backup.found":                 "backup {backup} ({type}), taken {taken}, {tables} tables, {rows} rows",
		"msg.backup.found_differential":    "backup {backup} ({type} of full {base}), taken {taken}, {tables} tables, {rows} rows",
		"msg.backup.error":                 "no backup to restore could be found or read: {error}",
		"msg.skip.no_backup":               "not run: no backup to restore",
		"msg.skip.nothing_restored":        "not run: nothing was restored",
		"msg.skip.restore_failed":          "not run: the restore failed",
		"msg.restore.prepare_error":        "preparing the restore target failed: {error}",
		"msg.restore.error":                "the restore failed: {error}",
		"msg.restore.database":             `restored the whole database of backup {backup} onto {target} as "{as}" ({bytes} read)`,
		"msg.restore.tables":               `restored {names} of backup {backup} onto {target} into "{as}" ({bytes} read)`,
		"msg.statistics.error":             "computing the statistics of the restored copy failed: {error}",
		"msg.statistics.equal":             "{tables} table(s), {rows} rows: row counts and content checksums equal those recorded at backup time",
		"msg.statistics.mismatch":          "{mismatched} of {tables} table(s) differ from the backup: {mismatches}",
		"msg.mismatch.missing":             "table {table}: missing from the restored copy",
		"msg.mismatch.rows":                "table {table}: {restored_rows} rows restored, {backup_rows} backed up",
		"msg.mismatch.checksum":            "table {table}: content checksum {restored_checksum} restored, {backup_checksum} backed up",
		"msg.integrity.error":              "the integrity check did not complete: {error}",
		"msg.integrity.no_report":          "the engine returned no integrity report",
		"msg.integrity.findings":           "{tool}: {found} finding(s); the tool reported: {findings}",
		"msg.integrity.skipped":            "not run; the engine said: {reason}",
		"msg.integrity.ok":                 "{tool}: no findings",
		"msg.cleanup.disposition":          "{disposition}: {cause}",
		"msg.cleanup.gone":                 `"{as}" does not exist on {target}: {cause}`,
		"msg.cleanup.dropped":              `dropped "{as}" on {target} (recorded in the scratch ledger)`,
		"msg.disposition.nothing_restored": "nothing was restored",
		"msg.disposition.foreign_exists":   "a database of that name already existed and was not dbopsd's: left untouched",
		"msg.disposition.nothing_to_drop":  "nothing to drop",
		"msg.disposition.not_scratch":      "the target is not a scratch target: the restored database stays (dbopsd drops only scratch databases it created)",
		"msg.disposition.into_existing":    "the tables were restored into an existing database that dbopsd did not create: it is left in place",
		"msg.disposition.keep_asked":       "the drill asked to keep its restored copy",
		"msg.disposition.keep_on_failure":  "for inspection after a failed drill (keep_on_failure)",
		"msg.disposition.drop_failed":      "dropping the copy failed ({error}); the cleanup at the daemon's next start retries",
		"msg.disposition.engine_removed":   "nothing left to drop: the engine removed the half-restored database",
		"msg.disposition.dropped":          "the scratch copy the drill created was dropped",
		"msg.warning.full_unreadable":      "the full backup {base} of this differential does not read: {error}",
		"msg.warning.scratch_ledger":       "scratch ledger: {error}",
	},
}

// The English of the engines' notes is the engines' own: the sentences
// they store beside each Note (RestoreReport.Skipped, ...).
func init() {
	for key, s := range engines.NoteSentences() {
		labels[LangEN]["msg.note."+key] = s
	}
}

const page = `<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{t "title"}} {{.R.ID}}</title>
<style>
@page { size: A4; margin: 14mm; }
@media print {
  body { background: #ffffff !important; }
  .page { max-width: none !important; padding: 0 !important; }
  tr, .verdict { page-break-inside: avoid; }
  h2 { page-break-after: avoid; }
}
@media screen and (max-width: 600px) {
  .page { padding: 12px !important; }
}
</style>
</head>
<body style="{{.S.body}}">
<div class="page" style="{{.S.page}}">
{{- $r := .R}}{{$s := .S}}
<h1 style="{{$s.h1}}">{{t "title"}}</h1>
<p style="{{$s.sub}}">{{$r.Database}} · {{tr "scenario" $r.Scenario}} · {{$r.ID}} · {{time $r.StartedAt}}</p>

<table role="presentation" class="verdict" style="{{$s.table}}"><tr><td style="{{if eq $r.Verdict "pass"}}{{$s.pass}}{{else}}{{$s.fail}}{{end}}">
{{t "verdict"}}{{t "sep"}}{{tr "verdict" $r.Verdict}}
{{- with problems $r}}
<div style="{{$s.problem}}"><strong>{{t "problems"}}</strong><ul style="{{$s.list}}">{{range .}}<li>{{.}}</li>{{end}}</ul></div>
{{- end}}
{{- with warnings $r}}
<div style="{{$s.problem}}"><strong>{{t "warnings"}}</strong><ul style="{{$s.list}}">{{range .}}<li>{{.}}</li>{{end}}</ul></div>
{{- end}}
</td></tr></table>

<h2 style="{{$s.h2}}">{{t "summary"}}</h2>
<table style="{{$s.table}}">
<tr><th style="{{$s.key}}">{{t "id"}}</th><td style="{{$s.mono}}">{{$r.ID}}</td></tr>
<tr><th style="{{$s.key}}">{{t "scenario"}}</th><td style="{{$s.td}}">{{tr "scenario" $r.Scenario}}</td></tr>
<tr><th style="{{$s.key}}">{{t "database"}}</th><td style="{{$s.td}}">{{$r.Database}} ({{$r.Engine}})</td></tr>
<tr><th style="{{$s.key}}">{{t "source_server"}}</th><td style="{{$s.td}}">{{orDash $r.SourceServer}}</td></tr>
<tr><th style="{{$s.key}}">{{t "target"}}</th><td style="{{$s.td}}">{{$r.Target.Name}}{{if $r.Target.Scratch}} ({{t "scratch"}}){{end}}</td></tr>
<tr><th style="{{$s.key}}">{{t "target_server"}}</th><td style="{{$s.td}}">{{orDash $r.Target.Server}}</td></tr>
<tr><th style="{{$s.key}}">{{t "restored_as"}}</th><td style="{{$s.mono}}">{{$r.Target.Database}}</td></tr>
<tr><th style="{{$s.key}}">{{t "tables_restored"}}</th><td style="{{$s.td}}">{{if $r.Target.Tables}}{{join $r.Target.Tables}}{{else}}{{t "all_tables"}}{{end}}</td></tr>
<tr><th style="{{$s.key}}">{{t "replace"}}</th><td style="{{$s.td}}">{{yesno $r.Target.Replace}}</td></tr>
<tr><th style="{{$s.key}}">{{t "started"}}</th><td style="{{$s.td}}">{{time $r.StartedAt}}</td></tr>
<tr><th style="{{$s.key}}">{{t "finished"}}</th><td style="{{$s.td}}">{{time $r.FinishedAt}}</td></tr>
<tr><th style="{{$s.key}}">{{t "disposition"}}</th><td style="{{$s.td}}">{{tr "disposition" $r.Target.Disposition}}{{with dispositionNote $r.Target}}{{t "sep"}}{{.}}{{end}}</td></tr>
<tr><th style="{{$s.key}}">{{t "host"}}</th><td style="{{$s.td}}">{{orDash $r.Host}}{{if $r.JobID}} · {{t "job"}} {{$r.JobID}}{{end}}</td></tr>
</table>

<h2 style="{{$s.h2}}">{{t "rto"}}</h2>
<table style="{{$s.table}}">
<tr><th style="{{$s.key}}">{{t "t_restore"}}</th><td style="{{$s.num}}"><strong>{{dur $r.Timings.Restore}}</strong></td></tr>
<tr><th style="{{$s.key}}">{{t "t_compare"}}</th><td style="{{$s.num}}">{{dur $r.Timings.Compare}}</td></tr>
<tr><th style="{{$s.key}}">{{t "t_integrity"}}</th><td style="{{$s.num}}">{{dur $r.Timings.Integrity}}</td></tr>
<tr><th style="{{$s.key}}">{{t "t_checks"}}</th><td style="{{$s.num}}">{{dur $r.Timings.Checks}}</td></tr>
<tr><th style="{{$s.key}}">{{t "t_cleanup"}}</th><td style="{{$s.num}}">{{dur $r.Timings.Cleanup}}</td></tr>
<tr><th style="{{$s.key}}">{{t "t_total"}}</th><td style="{{$s.num}}"><strong>{{dur $r.Timings.Total}}</strong></td></tr>
<tr><th style="{{$s.key}}">{{t "bytes_read"}}</th><td style="{{$s.num}}">{{bytes $r.BytesRead}}</td></tr>
<tr><th style="{{$s.key}}">{{t "rate"}}</th><td style="{{$s.num}}">{{rate $r.BytesRead $r.Timings.Restore}}</td></tr>
</table>

<h2 style="{{$s.h2}}">{{t "request"}}</h2>
{{- with $r.Request}}
<table style="{{$s.table}}">
<tr><th style="{{$s.key}}">{{t "request_id"}}</th><td style="{{$s.mono}}">{{.ID}}</td></tr>
<tr><th style="{{$s.key}}">{{t "action"}}</th><td style="{{$s.td}}">{{tr "action" .Action}}</td></tr>
<tr><th style="{{$s.key}}">{{t "requester"}}</th><td style="{{$s.td}}">{{.Requester}}</td></tr>
<tr><th style="{{$s.key}}">{{t "approvers"}}</th><td style="{{$s.td}}">{{join .Approvers}}</td></tr>
<tr><th style="{{$s.key}}">{{t "reason"}}</th><td style="{{$s.td}}">{{orDash .Reason}}</td></tr>
<tr><th style="{{$s.key}}">{{t "created"}}</th><td style="{{$s.td}}">{{time .Created}}</td></tr>
<tr><th style="{{$s.key}}">{{t "valid"}}</th><td style="{{$s.td}}">{{time .NotBefore}} – {{time .Expires}}</td></tr>
<tr><th style="{{$s.key}}">{{t "digest"}}</th><td style="{{$s.mono}}">{{.Digest}}</td></tr>
{{- if .RegisterRef}}
<tr><th style="{{$s.key}}">{{t "register_ref"}}</th><td style="{{$s.td}}">#{{.RegisterRef}}</td></tr>
{{- end}}
</table>
<table style="{{$s.table}}">
<tr><th style="{{$s.th}}">{{t "signer"}}</th><th style="{{$s.th}}">{{t "role"}}</th><th style="{{$s.th}}">{{t "key_type"}}</th><th style="{{$s.th}}">{{t "fingerprint"}}</th></tr>
{{- range .Signatures}}
<tr><td style="{{$s.td}}">{{.Signer}}</td><td style="{{$s.td}}">{{tr "role" .Role}}</td><td style="{{$s.td}}">{{orDash .KeyType}}</td><td style="{{$s.mono}}">{{orDash .Fingerprint}}</td></tr>
{{- end}}
</table>
{{- else}}
<p>{{t "no_request"}}</p>
{{- end}}

<h2 style="{{$s.h2}}">{{t "backup"}}</h2>
{{- if $r.Chain}}
<p style="margin:0 0 4px 0;font-weight:600;">{{t "chain"}}</p>
<table style="{{$s.table}}">
<tr><th style="{{$s.th}}">{{t "backup_id"}}</th><th style="{{$s.th}}">{{t "type"}}</th><th style="{{$s.th}}">{{t "taken"}}</th><th style="{{$s.th}}">{{t "tables"}}</th><th style="{{$s.th}}">{{t "rows"}}</th><th style="{{$s.th}}">{{t "raw_size"}}</th><th style="{{$s.th}}">{{t "stored_size"}}</th></tr>
{{- range $r.Chain}}
<tr><td style="{{$s.mono}}">{{.ID}}</td><td style="{{$s.td}}">{{tr "type" .Type}}</td>
{{- if .Error}}<td style="{{$s.td}}" colspan="5">{{t "unreadable"}}{{t "sep"}}{{.Error}}</td>
{{- else}}<td style="{{$s.td}}">{{time .StartedAt}}</td><td style="{{$s.num}}">{{.Tables}}</td><td style="{{$s.num}}">{{.Rows}}</td><td style="{{$s.num}}">{{bytes .RawBytes}}</td><td style="{{$s.num}}">{{bytes .StoredBytes}}</td>{{end}}</tr>
{{- end}}
</table>
{{- end}}
{{- with $r.Backup}}
<table style="{{$s.table}}">
<tr><th style="{{$s.key}}">{{t "backup_id"}}</th><td style="{{$s.mono}}">{{.ID}}</td></tr>
<tr><th style="{{$s.key}}">{{t "type"}}</th><td style="{{$s.td}}">{{tr "type" .Type}}{{if .Base}} ({{t "base"}} <span style="font-family:ui-monospace,Menlo,Consolas,monospace;">{{.Base}}</span>){{end}}</td></tr>
<tr><th style="{{$s.key}}">{{t "server_version"}}</th><td style="{{$s.td}}">{{orDash .ServerVersion}}</td></tr>
<tr><th style="{{$s.key}}">{{t "position"}}</th><td style="{{$s.mono}}">{{orDash .Position}}</td></tr>
</table>
{{- end}}

<h2 style="{{$s.h2}}">{{t "checks"}}</h2>
<table style="{{$s.table}}">
<tr><th style="{{$s.th}}">{{t "check"}}</th><th style="{{$s.th}}">{{t "result"}}</th><th style="{{$s.th}}">{{t "duration"}}</th><th style="{{$s.th}}">{{t "detail"}}</th></tr>
{{- range $r.Checks}}
<tr><td style="{{$s.td}}">{{tr "check" .Name}}</td><td style="{{$s.td}}"><strong style="{{statusColor .Status}}">{{tr "status" .Status}}</strong></td><td style="{{$s.num}}">{{dur .Duration}}</td><td style="{{$s.td}}">{{detail .}}</td></tr>
{{- end}}
</table>
{{- if $r.Tables}}

<h2 style="{{$s.h2}}">{{t "table_cmp"}}</h2>
<table style="{{$s.table}}">
<tr><th style="{{$s.th}}">{{t "table"}}</th><th style="{{$s.th}}">{{t "backup_rows"}}</th><th style="{{$s.th}}">{{t "restored_rows"}}</th><th style="{{$s.th}}">{{t "backup_checksum"}}</th><th style="{{$s.th}}">{{t "restored_checksum"}}</th><th style="{{$s.th}}">{{t "equal"}}</th></tr>
{{- range $r.Tables}}
<tr><td style="{{$s.td}}">{{.Table}}</td><td style="{{$s.num}}">{{.BackupRows}}</td><td style="{{$s.num}}">{{.RestoredRows}}</td><td style="{{$s.mono}}">{{.BackupChecksum}}</td><td style="{{$s.mono}}">{{orDash .RestoredChecksum}}</td><td style="{{$s.td}}"><strong style="{{if .Equal}}{{statusColor "pass"}}{{else}}{{statusColor "fail"}}{{end}}">{{yesno .Equal}}</strong></td></tr>
{{- end}}
</table>
{{- end}}
{{- if or $r.Integrity (and $r.Restore (or $r.Restore.Skipped $r.Restore.Notes))}}

<h2 style="{{$s.h2}}">{{t "notes"}}</h2>
<table style="{{$s.table}}">
{{- with $r.Integrity}}
<tr><th style="{{$s.key}}">{{t "integrity_tool"}}</th><td style="{{$s.td}}">{{.Tool}}{{with integritySkipped .}} — {{t "not_run_engine"}}{{.}}{{end}}</td></tr>
{{- if .Findings}}
<tr><th style="{{$s.key}}">{{t "findings"}}</th><td style="{{$s.td}}">{{t "tool_says"}}<ul style="{{$s.list}}">{{range .Findings}}<li>{{.}}</li>{{end}}</ul></td></tr>
{{- end}}
{{- end}}
{{- with $r.Restore}}
{{- with restoreSkipped .}}
<tr><th style="{{$s.key}}">{{t "skipped"}}</th><td style="{{$s.td}}">{{t "engine_says"}}<ul style="{{$s.list}}">{{range .}}<li>{{.}}</li>{{end}}</ul></td></tr>
{{- end}}
{{- with restoreNotes .}}
<tr><th style="{{$s.key}}">{{t "restore_notes"}}</th><td style="{{$s.td}}">{{t "engine_says"}}<ul style="{{$s.list}}">{{range .}}<li>{{.}}</li>{{end}}</ul></td></tr>
{{- end}}
{{- end}}
</table>
{{- end}}

<p style="{{$s.footer}}">{{t "generated"}} · {{t "at"}} {{.Generated}}{{if $r.Trigger}} · {{t "trigger"}}{{t "sep"}}{{tr "trigger" $r.Trigger}}{{end}}</p>
</div>
</body>
</html>
`
