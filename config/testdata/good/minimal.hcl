# The least a policy file needs; everything else takes its default.
storage "local" {
  type = "local"
  path = "/srv/dbops"
}

repository {
  storage    = "local"
  passphrase = env("DBOPS_GOOD_UNSET")
}

policy "standard" {}

database "queue" {
  engine = "mariadb"
  dsn    = "dbops@tcp(127.0.0.1:3306)/queue"
  policy = "standard"
}

report "monthly" {}
