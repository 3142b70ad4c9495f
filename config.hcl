# dbopsd 策略文件示例 —— 区政务服务中心
# Sample dbopsd policy for a district government service centre.
#
# 7 个业务库，分布在 PostgreSQL、MariaDB 和 SQL Server 上；备份写入本机房的 MinIO，
# 并镜像到异地灾备存储。Seven databases on PostgreSQL, MariaDB and SQL Server;
# backups go to the on-site MinIO and are mirrored to the off-site store.
#
# 检查 / check:   dbopsd config validate --config config.hcl
# 默认路径 / default path: $DBOPS_CONFIG, else /etc/dbopsd/config.hcl
#
# 密钥 / Secrets
#   口令和密钥只能来自 env("NAME") 或 file("/path")，绝不写在本文件里（写了会有警告）。
#   Passwords and keys come from env("NAME") or file("/path"), never from this
#   file (a literal secret is accepted with a warning).
#   - env("NAME"): 变量未设置时为空串；空口令表示"不用口令"（trust/peer 认证），不是错误。
#     An unset variable gives "": an empty password means none, not an error.
#   - file("/etc/dbopsd/xxx.secret"): 文件内容，去掉末尾一个换行；文件不可读则整份配置
#     被拒绝 —— 守护进程不能没有密钥就启动。相对路径相对于本文件所在目录。
#     The file's content minus one trailing newline; an unreadable file refuses
#     the whole configuration. Relative paths are relative to this file.
#   本示例全部使用 env()，因此在没有任何环境变量和密钥文件时也能通过校验；生产环境可以
#   按注释改用 file()（systemd 的 LoadCredential= 很适合）。This sample uses env()
#   throughout so it validates on any machine; in production file() works too.

# ---------------------------------------------------------------------------
# 守护进程 / The daemon (dbopsd agent). Every attribute is optional.
daemon {
  state_dir      = "/var/lib/dbopsd"          # 目录与状态库 catalog (SQLite) 所在处 / where the catalog lives
  socket         = "/run/dbopsd/dbopsd.sock"  # CLI 与守护进程通信的 unix socket (mode 0600)
  http_listen    = "127.0.0.1:9187"           # /metrics (Prometheus) 与 /healthz
  max_parallel   = 3                          # 同时运行的任务总数 / jobs at once, overall
  max_per_server = 1                          # 同一台数据库服务器上同时运行的任务数；0 = 不限 / per host; 0 = no limit
  timezone       = "Asia/Shanghai"            # 计划、时间窗、报表所用时区 (IANA 名称或 "Local")
  pg_bin_dir     = ""                         # pg_dump/pg_restore 所在目录；空 = 自动查找 PATH 与 /usr/lib/postgresql/*/bin

  # 远程提交签名请求的 HTTPS 监听；空 = 关闭（只用本机 socket）。
  # An HTTPS listener for signed requests from other machines; "" = off (the socket only).
  #   request_listen = "0.0.0.0:9443"
  #   tls_cert       = "/etc/dbopsd/tls.crt"   # 服务器证书 (PEM，含中间证书) / server certificate (PEM, with its chain)
  #   tls_key        = "/etc/dbopsd/tls.key"   # 其私钥 (PEM)，仅 dbopsd 用户可读 / its private key, readable by dbopsd only
  # 只提供 POST /v1/requests 与 GET /v1/requests/{id}：请求靠 SSH 签名与审批规则认证，
  # 与 socket 完全相同；状态、手动任务等仍只走 socket。TLS 1.2 起。
  # Only the two request routes are served; requests are authenticated by their SSH
  # signatures and the approvals, exactly as over the socket. TLS 1.2 or later.
  # 设了 request_listen 就必须有 tls_cert 与 tls_key，且两者须能读取并互相匹配，否则整份配置被拒绝。
  # With request_listen set, both files must be readable and match, or the policy is refused.
  # 换证书后 SIGHUP 即生效；改 request_listen 本身需重启。Replace the files and send SIGHUP
  # to serve a renewed certificate; a new request_listen takes effect at the next start.
  # 客户端 / client: dbopsd request submit req.json --server https://dbops.example.gov.cn:9443 --ca-file ca.pem
  request_listen = ""
  tls_cert       = ""
  tls_key        = ""

  # SQL Server 备份经由 dbopsd 的 blob 监听（Azure Blob 协议的子集，HTTPS）：BACKUP … TO URL
  # 把数据直接流入仓库，数据库主机上不落地。证书用上面的 tls_cert/tls_key，须含 mssql_url 的主机名，
  # 且 SQL Server 主机信任它。空 = 关闭（SQL Server 库的备份会失败并说明原因）。
  # SQL Server backs up through dbopsd's blob listener (HTTPS, a subset of Azure Blob):
  # its certificate is tls_cert/tls_key, naming mssql_url's host, trusted by the SQL Servers.
  # SQL Server 只连主机名（不能是 IP）的 443 端口。SQL Server reaches a host name (not an IP) on port 443.
  #   mssql_listen = "0.0.0.0:443"
  #   mssql_url    = "https://dbops.example.gov.cn"
  mssql_listen = ""
  mssql_url    = ""
}

# ---------------------------------------------------------------------------
# 存储 / Storage. type = "s3" (MinIO or any S3 API) or "local" (a directory).

# 本机房 MinIO（TLS，自签 CA）/ On-site MinIO over TLS with our own CA.
storage "primary" {
  type        = "s3"
  endpoint    = "10.1.1.20:9000"              # host:port，不带 https:// / no scheme: use_tls decides
  bucket      = "dbops"
  prefix      = "chenggong"                   # 桶内前缀，便于多个站点共用一个桶 / key prefix inside the bucket
  region      = "us-east-1"                   # MinIO 默认区域 / MinIO's default region
  access_key  = env("DBOPS_S3_ACCESS_KEY")
  secret_key  = env("DBOPS_S3_SECRET_KEY")    # 或 / or: file("/etc/dbopsd/s3.secret")
  use_tls     = true
  ca_file     = "/etc/dbopsd/ca.pem"          # 校验 MinIO 证书的 CA / CA that signed MinIO's certificate
  object_lock = true                          # 对象锁（防勒索）：桶须以 `mc mb --with-lock` 创建；
                                              # 在保留期内任何对象都删不掉，prune 会等到期。
                                              # Object Lock: the bucket must be created with locking;
                                              # nothing can be deleted before its retention ends.
}

# 异地灾备：挂载的异地 NAS 目录 / Off-site copy: a mounted directory at the DR site.
storage "offsite" {
  type = "local"
  path = "/mnt/dr-nas/dbops-repo"
}

# ---------------------------------------------------------------------------
# 备份仓库 / The repository: where backups live, and its encryption passphrase.
# 数据在客户端压缩、加密后才写入存储 / data is compressed and encrypted before upload.
repository {
  storage    = "primary"
  mirrors    = ["offsite"]                    # 每次备份后复制到这些存储 / copied here after each backup
                                              # prune 按同一保留策略清理镜像自己的备份，主库删除不会同步到镜像。
                                              # prune applies the same retention to each mirror's own backups;
                                              # deletions on the primary never reach a mirror.
  passphrase = env("DBOPS_REPO_PASSPHRASE")   # 或 / or: file("/etc/dbopsd/repo.pass")
                                              # 丢失口令 = 丢失全部备份，请离线保管一份！
                                              # Lose it and every backup is lost: keep a copy offline.
}

# ---------------------------------------------------------------------------
# 备份策略 / Backup policies.
#
#   full         全量: "monthly"（默认，每月第一个 full_day）| "quarterly"（每季第一个月的第一个 full_day）
#                | cron 表达式 (5 段)
#   differential 累积差异: "biweekly"（默认，每两周）| "weekly" | cron | "none"
#                每个差异备份都相对于本代的全量，恢复只需 全量 + 最新一个差异。
#                Cumulative: a restore needs the full plus only the newest differential.
#   full_day     备份日 "sunday"（默认）…"saturday"，不分大小写：全量在每月（每季）第一个该日，
#                weekly/biweekly 差异也在该日。The backup day: monthly and quarterly fulls
#                on its first in the month (quarter), weekly and biweekly differentials on it too.
#   full_time    全量开始时间 "HH:MM"（默认 "01:00"，daemon.timezone）/ when fulls start
#   differential_time 差异开始时间 "HH:MM"（默认 "01:00"）。与 full_time 相同时，全量当天的差异由
#                全量代替；不同时当天两者都做（差异间隔始终准确为一或两周）。Equal to full_time,
#                the full takes the place of the differential due with it; otherwise both run.
#   differential_anchor biweekly 从此日期起每两周一次，"YYYY-MM-DD"（默认 "2024-01-07"）；
#                若该日不是 full_day，则从其后第一个 full_day 算起。Biweekly counts its
#                fortnights from the first full_day on or after this date.
#                以上四项只用于命名计划；对 cron 表达式无效（设了会有警告）。
#                They shape the named schedules only; a cron expression ignores them (warning).
#   window       只在此时间段内开始任务，"HH:MM-HH:MM"，可跨午夜 / may wrap past midnight
#   verify       自动恢复验证: "after_full" | "after_each" | cron | "none"
#                默认：设了 verify_target 则 "after_full"，否则 "none"
#   verify_target 验证所用的临时(scratch)恢复目标，引擎须与使用该策略的数据库一致
#                The scratch target verification restores into; its engine must
#                match the databases that use the policy — hence one policy per engine.
#   differential_max_ratio 差异备份超过其全量的该比例时，改做全量（默认 0.5，范围 (0,1]）
#   parallel     同时读取的表数 / tables read at once (default 2)
#   retention    保留（分级存储）: 最新 N 代 + 每月/每季/每年各保留一代
#
# 关键库 (critical = true) 必须至少每两周有一次差异备份，否则校验不通过。
# Critical databases must get a differential at least every two weeks.

# 关键业务 PostgreSQL 库：每月全量 + 每周差异，每次备份后都验证。
policy "important" {
  full                   = "monthly"
  differential           = "weekly"
  window                 = "00:30-05:30"
  verify                 = "after_each"
  verify_target          = "scratch-pg"
  differential_max_ratio = 0.5
  parallel               = 4

  retention {
    generations = 3    # 最新 3 代（一代 = 一个全量及其差异）/ newest 3 generations
    monthly     = 12   # 每月一代，保留 12 个月 / one per month for 12 months
    quarterly   = 8    # 每季一代，保留 8 个季度 / one per quarter for 8 quarters
    yearly      = 5    # 每年一代，保留 5 年（档案要求）/ one per year for 5 years
  }

  # 健康诊断（dbopsd diagnose）：每日巡检与每月全面诊断的时间、阈值、空间预测与屏蔽。
  # Health diagnostics: when the daily inspection and the monthly diagnosis run,
  # thresholds (defaults as on the check pages, docs/checks/), forecasts, suppressions.
  diagnostics {
    daily_time       = "06:30"   # 每日巡检 / daily inspection (default 06:00)
    monthly_day      = 1         # 每月全面诊断：每月 1 日 / monthly diagnosis on the 1st (1-28)
    monthly_time     = "07:00"
    long_transaction = "1h"      # 长事务阈值 / long-transaction threshold
    big_table        = "50GiB"   # 大表阈值 / big-table threshold
    horizon_days     = 90        # 空间预测期 / forecast horizon
    capacity         = "2TiB"    # 数据卷容量（无法测量时）/ the data volume's size when not measurable
    # backup_duration = "8h"     # 未设 window 时备份时长的上限 / backup-duration-trend's limit when the policy has no window

    # 屏蔽一项检查的发现（仍计数并标为已屏蔽），须写明原因与到期日。
    # Suppress a check's findings (still counted, shown as suppressed): a reason and an expiry.
    # suppress "long-transaction" {
    #   database = "billing"
    #   reason   = "夜间批处理 / nightly batch"
    #   until    = "2027-06-30"
    # }
  }
}

# 关键业务 SQL Server 库：时间窗跨午夜。Critical SQL Server: window wraps midnight.
policy "important-mssql" {
  full          = "monthly"
  differential  = "weekly"
  window        = "22:30-04:30"
  verify        = "after_full"
  verify_target = "scratch-mssql"

  retention {
    generations = 3
    monthly     = 12
    yearly      = 5
  }
}

# 一般 MySQL/MariaDB 库：每月第一个周六 02:00 全量 + 每两周（周六 02:00）差异；
# 与关键库错开，不在同一夜做全量。Ordinary MariaDB databases, on Saturdays so that
# their fulls never share a night with the critical databases' (first Sunday).
policy "standard" {
  full                = "monthly"
  differential        = "biweekly"
  full_day            = "saturday"
  full_time           = "02:00"
  differential_time   = "02:00"        # 与全量同时：全量当天不再做差异 / the full stands in for it
  differential_anchor = "2024-01-06"   # 一个周六 / a Saturday: 6 Jan 2024, 20 Jan, 3 Feb, ...
  window              = "01:00-05:00"
  verify              = "after_full"
  verify_target       = "scratch-mysql"
  maintenance_lock_timeout = "10s"   # 表维护等锁上限，见 approvals / table maintenance: see approvals
  retention {
    generations = 3
    monthly     = 12
  }
}

# 一般 PostgreSQL 库，用 cron 表达式：每月 1 日 02:00 全量，每周六 06:00 验证最新备份。
# Ordinary PostgreSQL, with cron expressions (minute hour day month weekday).
policy "standard-pg" {
  full          = "0 2 1 * *"
  differential  = "biweekly"
  window        = "01:00-06:30"
  verify        = "0 6 * * 6"
  verify_target = "scratch-pg"
  maintenance_window = "02:00-05:00" # 表维护时间窗，见 approvals / table maintenance window: see approvals
  retention {
    generations = 2
    quarterly   = 4
  }
}

# ---------------------------------------------------------------------------
# 数据库 / Databases.
#   engine: "postgres" | "mysql" | "mariadb"(按 mysql 处理) | "mssql" | "sqlserver"(= mssql)
#   dsn:    连接串，不得含口令 / must not contain a password:
#           postgres: URL 或 key=value；mysql: user@tcp(host:port)/db 或 mysql:// URL；
#           mssql: sqlserver://user@host:1433?database=NAME
#   password: env()/file()；空 = 不用口令 / empty = trust or peer authentication

# 预约排队叫号 —— 大厅取号、叫号，停了大厅就停。
database "queue" {
  engine      = "postgres"
  dsn         = "postgres://dbops@10.1.1.11:5432/queue?sslmode=prefer"
  password    = env("QUEUE_PG_PASSWORD")      # 或 / or: file("/etc/dbopsd/queue.pass")
  policy      = "important"
  critical    = true
  description = "预约排队叫号系统 (queue tickets and calling)"
}

# 标准化受理 —— 与 queue 在同一台服务器上（max_per_server 让两者不同时导出）。
# Same server as queue: max_per_server keeps their dumps apart.
database "acceptance" {
  engine      = "postgres"
  dsn         = "host=10.1.1.11 port=5432 user=dbops dbname=acceptance sslmode=prefer"
  password    = env("ACCEPTANCE_PG_PASSWORD")
  policy      = "important"
  critical    = true
  description = "标准化受理系统 (standardised case acceptance)"
}

# 自助服务终端
database "selfservice" {
  engine      = "mariadb"
  dsn         = "dbops@tcp(10.1.1.12:3306)/selfservice?parseTime=true"
  password    = env("SELFSERVICE_DB_PASSWORD")
  policy      = "standard"
  description = "自助服务终端 (self-service kiosks)"

  # 库自己的诊断设置（替代其策略的 diagnostics 块）。
  # The database's own diagnostics settings (replace its policy's block).
  diagnostics {
    daily_time          = "05:30"
    idle_in_transaction = "5m"
    data_path           = "/var/lib/mysql"   # dbopsd 与数据库同机时用 statfs 测量 / statfs when on the database host
    suppress "wildcard-host" {
      object = "'kiosk'@'%'"
      reason = "终端地址不固定 / kiosks have no fixed addresses"
      until  = "2027-06-30"
    }
  }
}

# 好差评
database "rating" {
  engine      = "mysql"
  dsn         = "mysql://dbops@10.1.1.12:3306/rating"
  password    = env("RATING_DB_PASSWORD")
  policy      = "standard"
  critical    = false
  description = "好差评系统 (service ratings)"
}

# 数据资源管理平台 —— SQL Server
database "datahub" {
  engine      = "sqlserver"
  dsn         = "sqlserver://dbops@10.1.1.13:1433?database=datahub"
  password    = env("DATAHUB_MSSQL_PASSWORD")
  policy      = "important-mssql"
  critical    = true
  description = "数据资源管理平台 (data resource platform)"
  # SQL Server 专用 / SQL Server only.
  # compression：BACKUP 的压缩，默认 true，线路和仓库里字节更少；false 时仓库的分块能在各次累积差异之间去重。
  # compression: BACKUP WITH COMPRESSION (default true), fewer bytes on the wire; false lets the
  # repository's chunking deduplicate what the cumulative differentials share.
  compression = true
  # backup_dir：SQL Server 连不上 blob 监听时，经两边都能访问的共享目录备份（SQL Server 看到的路径），
  # dbopsd 读入仓库后删除；backup_dir_local 是 dbopsd 看到的同一目录。空 = 走 blob 监听。
  # backup_dir: for a server that cannot reach the blob listener, a share both hosts see, as SQL Server
  # names it; dbopsd reads the files into the repository and deletes them. backup_dir_local: the same
  # directory as dbopsd names it. Empty: the blob listener.
  #   backup_dir       = "\\\\fs1\\dbops"
  #   backup_dir_local = "/mnt/dbops"
  backup_dir       = ""
  backup_dir_local = ""
}

# 窗口管理
database "windows" {
  engine      = "mariadb"
  dsn         = "dbops@tcp(10.1.1.14:3306)/windows"
  password    = env("WINDOWS_DB_PASSWORD")
  policy      = "standard"
  description = "窗口管理系统 (service windows and staff)"
}

# 全面监管及绩效
database "performance" {
  engine      = "postgres"
  dsn         = "postgres://dbops@10.1.1.15:5432/performance"
  password    = env("PERFORMANCE_PG_PASSWORD")
  policy      = "standard-pg"
  description = "全面监管及绩效系统 (supervision and performance)"
}

# ---------------------------------------------------------------------------
# 恢复目标 / Restore targets: servers that restores and verifications write to.
#   scratch = true:  临时库，验证与演练可以直接写，不需签名请求；验证完即删除。
#                    Verification and drills write here freely; databases are dropped after.
#   allow_restore:   是否允许正式恢复（需签名请求与审批）到此服务器。
#                    Whether real (signed, approved) restores may target this server.
#   keep_on_failure: 验证失败时保留临时库供排查。Keep a failed verify's database for inspection.

restore_target "scratch-pg" {
  engine          = "postgres"
  dsn             = "postgres://dbops@10.1.1.50:5432/postgres"
  password        = env("SCRATCH_PG_PASSWORD")
  scratch         = true
  allow_restore   = false
  keep_on_failure = true
}

restore_target "scratch-mysql" {
  engine   = "mariadb"
  dsn      = "dbops@tcp(10.1.1.51:3306)/"
  password = env("SCRATCH_MYSQL_PASSWORD")
  scratch  = true
}

restore_target "scratch-mssql" {
  engine   = "mssql"
  dsn      = "sqlserver://dbops@10.1.1.52:1433?database=master"
  password = env("SCRATCH_MSSQL_PASSWORD")
  scratch  = true
  # 同 database 的 backup_dir：恢复经共享目录而非 blob 监听。/ As a database's backup_dir, for restores.
  backup_dir       = ""
  backup_dir_local = ""
}

# 备用 PostgreSQL 服务器：正式的异机恢复（redirected restore）用，不是临时库。
# A standby server for real, redirected restores; not a scratch target.
restore_target "standby-pg" {
  engine        = "postgres"
  dsn           = "postgres://dbops@10.1.1.60:5432/postgres"
  password      = env("STANDBY_PG_PASSWORD")
  scratch       = false
  allow_restore = true
}

# ---------------------------------------------------------------------------
# 签名人 / Signers: SSH public keys allowed to sign or approve requests.
#   roles: "dba"（发起恢复/演练/维护请求）| "approver"（审批）| "auditor"（审计、只读）
#   生成密钥 / make a key: ssh-keygen -t ed25519 -C zhang.wei@ops

signer "zhang.wei" {
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINorcO1VxbRxoYGxJTEJ8i8Y/Ar6zSCLgF8hMOKsDDR8 zhang.wei@ops"
  roles      = ["dba"]
}

signer "li.na" {
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO8y/4e+3wli1IkQhklwRBVbZqi/nEy1bp/hW5caveVD li.na@ops"
  roles      = ["dba"]
}

signer "wang.fang" {
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDNm1ut40bVios4T6aKtGat3vSuhgDG9a4Hc185y3mJN wang.fang@ops"
  roles      = ["approver", "auditor"]
}

# 审批 / Approvals each kind of request needs before it runs (besides the
# requester's own signature). 默认 drill 1, restore 2, maintenance 2.
approvals {
  drill       = 1   # 恢复演练（非临时库）/ restore drills outside scratch targets
  restore     = 2   # 正式恢复 / real restores
  maintenance = 2   # 表维护（重建索引等）/ table maintenance
}

# 表维护只在批准的请求下执行（dbopsd maintenance propose / list；request new maintenance）。
# Table maintenance runs only for an approved request. In a policy:
#   maintenance_window       经批准的维护只在此时间段内执行，"HH:MM-HH:MM"（默认：任何时间）
#                            approved maintenance runs only inside it (default: any time)
#   maintenance_lock_timeout 维护语句等锁的上限，超时即放弃（默认 "5s"，1s 至 10m）
#                            how long a statement waits for its lock, then gives up (default "5s")

# ---------------------------------------------------------------------------
# 通知 / Notifications.
#   events: backup_failed, verify_failed,
#           verify_not_run（校验未能进行：临时库目标不可达、磁盘满或被取消；不说明备份好坏）/
#             a verification could not run (scratch target down, disk full, cancelled),
#           check_failed, stale（超期无成功备份）,
#           daemon_gap（守护进程停机后补做）, monthly_report, weekly_summary,
#           restore_done, drill_done, reconcile_differences, diagnosis_finding,
#           maintenance_done / maintenance_failed（每个表维护请求结束时一次）/ once per table maintenance request, when it ends

# 发给大数据局的邮件 / Email to the bureau (SMTP with STARTTLS on 587).
notify "bureau" {
  type     = "email"
  smtp     = "smtp.example.gov.cn:587"
  smtp_tls = "starttls"                       # 或 / or "implicit" (SMTPS)；不写则 465 用 implicit，其他端口 STARTTLS
                                              # omitted: implicit TLS on port 465, STARTTLS on any other
  ca_file  = ""                               # 签发邮件服务器证书的 CA (PEM)；空 = 系统 CA
                                              # CA that signed the mail server's certificate; "" = the system's
  username = "dbopsd@example.gov.cn"
  password = env("DBOPS_SMTP_PASSWORD")       # 或 / or: file("/etc/dbopsd/smtp.pass")
  from     = "dbopsd@example.gov.cn"
  to       = ["xxzx@example.gov.cn", "dba@example.gov.cn"]
  events   = ["backup_failed", "verify_failed", "check_failed", "stale", "monthly_report"]
}

# 运维值班群的 webhook（JSON POST，带 HMAC 签名头）/ On-call webhook, HMAC-signed.
notify "oncall" {
  type   = "webhook"
  url    = "https://ops.example.gov.cn/hooks/dbopsd"
  secret = env("DBOPS_WEBHOOK_SECRET")        # HMAC 密钥 / HMAC key
  # ca_file = "/etc/dbopsd/ca.pem"            # 签发接收端证书的内部 CA (PEM，仅 https://)；不写 = 系统 CA
                                              # internal CA that signed the receiver's certificate (https:// only)
  events = ["backup_failed", "verify_failed", "check_failed", "stale", "daemon_gap",
            "weekly_summary", "restore_done", "drill_done"]
}

# ---------------------------------------------------------------------------
# 报表 / Reports: the monthly report (每月运行状况报告) and the weekly summary
# (每周巡检汇总), sent by email with charts and attachments.
#   schedule:  "monthly"（每月 1 日）| "weekly"（每周一）| cron
#   kind:      "monthly" | "weekly"（默认取 schedule 或标签）
#   per:       "site"（全站一份，默认）| "database"（每库一份）
#   site:      标题中的单位名称（默认为标签）
#   databases: 只报告这些数据库（默认全部）
#   font:      图表字体（需含 Noto Sans CJK SC；Debian: fonts-noto-cjk）
#   dictionaries: 附数据字典："changed"（结构有变更的库，默认）| "all"
#   language:  "zh-CN"（默认）| "en"
report "monthly" {
  schedule     = "monthly"
  kind         = "monthly"
  per          = "site"
  site         = "市大数据中心"
  databases    = ["queue", "datahub", "rating", "acceptance"]
  font         = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
  dictionaries = "changed"
  language     = "zh-CN"
  notify       = ["bureau"]
}

# ---------------------------------------------------------------------------
# 接口数据核查（每两周一次）/ Interface-data reconciliation, every two weeks.
#   两侧可以在不同服务器、不同引擎上；只读，各侧一个一致性快照。
#   The sides may be on different servers and engines; read-only, one snapshot per side.
#   left/right: database 为本文件中的 database 块，table 为 "schema.table"（MySQL 为 "table"）。
#   schedule: "biweekly"（默认）| "weekly" | "monthly" | cron；window 在 daemon.timezone 中。
reconcile "market-registrations" {
  left              = { database = "acceptance", table = "public.market_registrations" }
  right             = { database = "selfservice", table = "market_registrations" }
  key               = ["credit_code"]                  # 统一社会信用代码 / the shared key
  columns           = ["name", "legal_person", "registered_at", "capital"]  # 不写 = 全部列 / omitted: all
  where             = "registered_at >= '2020-01-01'"  # 两侧都适用的条件 / a filter both engines understand
  schedule          = "biweekly"
  window            = "19:00-07:00"                    # 避开办事大厅白天的负载 / outside the service hall's hours
  rate_limit        = 50000                            # 每侧每秒读取的行数上限；0 = 不限 / rows per second per side
  statement_timeout = "10m"                            # 每条语句的超时 / per statement on the servers
  samples           = 20                               # 每类保留的样例键数 / sample keys kept per kind
}

# ---------------------------------------------------------------------------
# 数据字典与数据量 / Data dictionary and data volume (dbopsd dict, dbopsd volume).
#   exact_rows_below: 估算行数低于此值的表精确计数 (count(*))，其余用估算值并标注“估算”；0 = 全部估算
#                     tables estimated below this many rows are counted exactly; others keep
#                     the server's estimate, marked as such; 0 = estimate every table
#   table "标签": 按月登记数据汇总的表（月报首先列出）/ tables registered monthly, listed first
volume {
  exact_rows_below = 100000
  table "自然人库" {
    database = "queue"
    table    = "public.persons"        # PostgreSQL: schema.table；MySQL: table
  }
  table "法人库" {
    database = "selfservice"
    table    = "companies"
  }
}
