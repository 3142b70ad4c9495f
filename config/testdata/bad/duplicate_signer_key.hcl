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
signer "zhang.wei" {
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINorcO1VxbRxoYGxJTEJ8i8Y/Ar6zSCLgF8hMOKsDDR8 zhang.wei@ops"
  roles      = ["dba"]
}
signer "zw2" {
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINorcO1VxbRxoYGxJTEJ8i8Y/Ar6zSCLgF8hMOKsDDR8 other@ops"
  roles      = ["approver"]
}
