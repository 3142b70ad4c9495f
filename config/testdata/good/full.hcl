# Every attribute of the schema, set to something other than its default.
daemon {
  state_dir      = "/srv/dbopsd/state"
  socket         = "/srv/dbopsd/dbopsd.sock"
  http_listen    = "0.0.0.0:9999"
  max_parallel   = 4
  max_per_server = 2
  timezone       = "Asia/Shanghai"
  pg_bin_dir     = "/usr/lib/postgresql/17/bin"
  request_listen = "10.1.1.5:9443"
  tls_cert       = "../tls/server.crt"
  tls_key        = "../tls/server.key"
}

storage "primary" {
  type        = "s3"
  endpoint    = "10.1.1.20:9000"
  bucket      = "dbops"
  prefix      = "/chenggong/"
  region      = "cn-east-1"
  access_key  = env("DBOPS_GOOD_ACCESS_KEY")
  secret_key  = env("DBOPS_GOOD_SECRET_KEY")
  use_tls     = true
  ca_file     = "/etc/dbopsd/ca.pem"
  object_lock = true
}

storage "offsite" {
  type = "local"
  path = "/mnt/offsite"
}

repository {
  storage    = "primary"
  mirrors    = ["offsite"]
  passphrase = file("repo.pass")
}

policy "important" {
  full                   = "quarterly"
  differential           = "weekly"
  window                 = "22:00-04:00"
  verify                 = "after_each"
  verify_target          = "scratch-pg"
  differential_max_ratio = 0.25
  parallel               = 8
  full_day               = "Saturday"
  full_time              = "22:30"
  differential_time      = "23:15"
  maintenance_window       = "01:00-05:00"
  maintenance_lock_timeout = "10s"

  retention {
    generations = 5
    monthly     = 12
    quarterly   = 8
    yearly      = 7
  }
}

# Biweekly differentials on Saturdays, in the fortnights from 1 March 2025.
policy "fortnight" {
  full_day            = "saturday"
  differential_anchor = "2025-03-01"
}

policy "cron" {
  full          = "0 2 * * 0"
  differential  = "none"
  verify_target = "scratch-pg"
}

database "queue" {
  engine      = "postgres"
  dsn         = "postgres://dbops@10.1.1.11:5432/queue"
  password    = env("DBOPS_GOOD_QUEUE_PASSWORD")
  policy      = "important"
  critical    = true
  description = "预约排队叫号系统"
}

# A weekly full with no differentials is frequent enough for a critical database.
database "weekly" {
  engine   = "postgresql"
  dsn      = "host=10.1.1.11 dbname=weekly user=dbops"
  policy   = "cron"
  critical = true
}

restore_target "scratch-pg" {
  engine          = "postgres"
  dsn             = "postgres://dbops@10.1.1.50/postgres"
  password        = env("DBOPS_GOOD_UNSET")
  scratch         = true
  allow_restore   = true
  keep_on_failure = true
}

restore_target "scratch-mssql" {
  engine = "sqlserver"
  dsn    = "sqlserver://dbops@10.1.1.52/SQLEXPRESS?database=master"
}

signer "zhang.wei" {
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINorcO1VxbRxoYGxJTEJ8i8Y/Ar6zSCLgF8hMOKsDDR8 zhang.wei@ops"
  roles      = ["dba", "approver", "auditor"]
}

approvals {
  drill       = 0
  restore     = 3
  maintenance = 1
}

notify "bureau" {
  type     = "email"
  smtp     = "smtp.example.gov.cn:465"
  smtp_tls = "implicit"
  ca_file  = "../tls/server.crt"
  username = "dbopsd"
  password = file("smtp.pass")
  from     = "dbopsd@example.gov.cn"
  to       = ["a@example.gov.cn", "b@example.gov.cn"]
  events   = ["backup_failed", "monthly_report"]
}

notify "hook" {
  type   = "webhook"
  url    = "https://ops.example.gov.cn/hook"
  secret = env("DBOPS_GOOD_HOOK_SECRET")
  events = ["stale", "daemon_gap"]
}

report "weekly" {
  schedule = "0 8 * * 1"
  language = "en"
  notify   = ["bureau", "hook"]
}
