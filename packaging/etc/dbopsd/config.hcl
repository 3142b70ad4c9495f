# /etc/dbopsd/config.hcl — the policy of a site run by the dbopsd service.
#
# Secrets are read from /etc/dbopsd/secrets/ with file("secrets/NAME")
# (relative to this file); see secrets/README. The repository's config.hcl
# is the fully commented sample of every block; this one is the service
# layout: the daemon's paths match the systemd unit (dbopsd.service).
#
# Check after every edit:   dbopsd config validate --config /etc/dbopsd/config.hcl
# Apply without a restart:  systemctl reload dbopsd   (a bad file is refused,
#                           the old policy stays; see `dbopsd status`)

daemon {
  state_dir      = "/var/lib/dbopsd"          # StateDirectory= of the unit
  socket         = "/run/dbopsd/dbopsd.sock"  # RuntimeDirectory= of the unit; mode 0600
  http_listen    = "127.0.0.1:9187"           # /metrics and /healthz
  max_parallel   = 3
  max_per_server = 1
  timezone       = "Asia/Shanghai"
}

storage "primary" {
  type       = "s3"
  endpoint   = "10.1.1.20:9000"
  bucket     = "dbops"
  prefix     = "chenggong"
  access_key = file("secrets/s3.access")
  secret_key = file("secrets/s3.secret")
  use_tls    = true
  ca_file    = "/etc/dbopsd/ca.pem"
}

# A mounted off-site directory: add it to ReadWritePaths= of the unit.
storage "offsite" {
  type = "local"
  path = "/mnt/dr-nas/dbops-repo"
}

repository {
  storage    = "primary"
  mirrors    = ["offsite"]              # copied after each backup
  passphrase = file("secrets/repo.pass") # keep a copy offline
}

policy "important" {
  full          = "monthly"   # first Sunday of the month, 01:00
  differential  = "weekly"    # Sundays 01:00
  window        = "00:30-05:30"
  verify        = "after_each"
  verify_target = "scratch-pg"

  retention {
    generations = 3
    monthly     = 12
    yearly      = 5
  }
}

policy "standard" {
  full          = "monthly"
  differential  = "biweekly"
  window        = "01:00-05:00"
  verify        = "after_full"
  verify_target = "scratch-pg"

  retention {
    generations = 3
    monthly     = 12
  }
}

database "queue" {
  engine      = "postgres"
  dsn         = "postgres://dbops@10.1.1.11:5432/queue?sslmode=prefer"
  password    = file("secrets/queue.pass")
  policy      = "important"
  critical    = true
  description = "预约排队叫号系统"
}

database "performance" {
  engine      = "postgres"
  dsn         = "postgres://dbops@10.1.1.15:5432/performance"
  password    = file("secrets/performance.pass")
  policy      = "standard"
  description = "全面监管及绩效系统"
}

restore_target "scratch-pg" {
  engine   = "postgres"
  dsn      = "postgres://dbops@10.1.1.50:5432/postgres"
  password = file("secrets/scratch-pg.pass")
  scratch  = true
}

notify "bureau" {
  type     = "email"
  smtp     = "smtp.example.gov.cn:587"   # STARTTLS; port 465 for implicit TLS
  username = "dbopsd@example.gov.cn"
  password = file("secrets/smtp.pass")
  from     = "dbopsd@example.gov.cn"
  to       = ["dba@example.gov.cn"]
  events   = ["backup_failed", "verify_failed", "check_failed", "stale"]
}

notify "oncall" {
  type   = "webhook"
  url    = "https://ops.example.gov.cn/hooks/dbopsd"
  secret = file("secrets/webhook.secret")
  events = ["backup_failed", "verify_failed", "check_failed", "stale", "daemon_gap"]
  # ca_file = "/etc/dbopsd/ca.pem"  # an internal CA that signed the receiver's certificate
}
