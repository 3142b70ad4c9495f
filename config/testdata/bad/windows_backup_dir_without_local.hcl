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
database "datahub" {
  engine = "sqlserver"
  dsn    = "sqlserver://dbops@10.1.1.13?database=datahub"
  policy = "standard"
}
restore_target "scratch" {
  engine     = "sqlserver"
  dsn        = "sqlserver://dbops@10.1.1.52?database=master"
  scratch    = true
  backup_dir = "D:\\dbops"
}
