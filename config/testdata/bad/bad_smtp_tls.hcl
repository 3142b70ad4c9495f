storage "primary" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "primary"
  passphrase = env("DBOPS_TEST_UNSET_PASSPHRASE")
}
policy "standard" {
  full         = "monthly"
  differential = "biweekly"
}
database "queue" {
  engine = "postgres"
  dsn    = "postgres://dbops@127.0.0.1:5432/queue"
  policy = "standard"
}
notify "bureau" {
  type     = "email"
  smtp     = "smtp.example.gov.cn:465"
  smtp_tls = "ssl"
  from     = "dbopsd@example.gov.cn"
  to       = ["xxzx@example.gov.cn"]
  events   = ["monthly_report"]
}
