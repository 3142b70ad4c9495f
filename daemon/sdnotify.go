package daemon

import (
	"net"
	"os"
)

// sdNotify tells systemd (Type=notify) about the daemon's state: "READY=1",
// "RELOADING=1", "STOPPING=1", "STATUS=...". Without $NOTIFY_SOCKET it does
// nothing.
func sdNotify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
