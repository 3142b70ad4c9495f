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
policy "verified-pg" {
  verify_target = "scratch-pg"
}
restore_target "scratch-pg" {
  engine  = "postgres"
  dsn     = "postgres://dbops@10.1.1.50:5432/postgres"
  scratch = true
}
database "rating" {
  engine = "mariadb"
  dsn    = "dbops@tcp(10.1.1.12:3306)/rating"
  policy = "verified-pg"
}
