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
daemon {
  mssql_listen = "0.0.0.0:9444"
  mssql_url    = "http://dbopsd.example.com"
  tls_cert     = "../tls/server.crt"
  tls_key      = "../tls/server.key"
}
