// Package request owns signed requests: the request file, its canonical
// form, signing (key files and ssh-agent), strict parsing, the policy checks
// and the nonce store; and the Gate, where the daemon decides on a request it
// received and records the decision in the restore register (ARCHITECTURE.md,
// "Signed requests and the register"). Anything that writes to a database other than a scratch
// target, and every drill, goes through here before it runs.
//
// # The request file
//
// A request is one JSON object, at most MaxSize (64 KiB):
//
//	{
//	  "version": 1,
//	  "id": "R20260301-101500-3f9a2c",
//	  "action": "restore",                       // restore | drill | maintenance
//	  "parameters": {
//	    "database": "queue",                     // a database block in the policy
//	    "backup": "",                            // a backup id; "" = the newest
//	    "target": "standby-pg",                  // a restore_target block
//	    "as": "queue_restored",                  // the database to create there
//	    "tables": ["public.tickets"],            // [] = the whole database
//	    "replace": false                         // may drop an existing one
//	  },
//	  "requester": "zhang.wei",                  // a signer with role dba
//	  "reason": "误删工单数据，恢复到备用库核对",
//	  "created": "2026-03-01T10:15:00Z",
//	  "not_before": "2026-03-01T10:15:00Z",
//	  "expires": "2026-03-01T12:15:00Z",
//	  "nonce": "64 hex digits",
//	  "signatures": [{"signer": "zhang.wei", "signature": "-----BEGIN SSH SIGNATURE-----\n..."}]
//	}
//
// Parsing is strict: valid UTF-8, exactly these keys (case-sensitive), each
// at most once, no nulls, values of the right type and syntax, nothing after
// the object. Times are UTC to the second.
//
// # Canonical bytes and signatures
//
// Every signature signs the same bytes (Request.Canonical): the request
// without "signatures", as compact JSON with keys in lexical order at every
// level and every field present. Adding a signature therefore never
// invalidates another, and changing anything else invalidates all of them.
// Signatures are SSH signatures (package sshsig) in namespace "dbopsd", so
// the OpenSSH tools can make and check them:
//
//	dbopsd request canonical req.json > req.canon
//	ssh-keygen -Y sign -n dbopsd -f ~/.ssh/id_ed25519 req.canon      # writes req.canon.sig
//	dbopsd request sign --signature req.canon.sig req.json
//	ssh-keygen -Y verify -n dbopsd -f allowed_signers -I zhang.wei -s req.canon.sig < req.canon
//
// The first signature is the requester's; the others are approvals.
// Verification matches each signature's key against the policy's signer
// blocks; roles come from the policy, never from the request.
//
// # Checks
//
// Offline runs the checks that need only the policy and a clock, in order:
// signatures (each valid, by a policy key, under that signer's name),
// requester (signed first, role dba), approvers (role approver, distinct,
// not the requester), approvals (at least approvals { <action> = N }),
// validity (not_before - skew <= now < expires: the skew allows for a
// daemon clock behind the requester's; expiry is exact), target (a drill only
// to a scratch target; a restore to a scratch target or one with
// allow_restore = true; engines match). Gate.Receive adds the target database
// check (it must not exist unless replace is signed) and the nonce check,
// then claims the nonce in the NonceStore, which persists across restarts.
// Every receipt, approval, refusal and acceptance goes into the register;
// Gate.Started and Gate.Finished record the run.
package request
