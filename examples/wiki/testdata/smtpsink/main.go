// Command smtpsink is the wiki test's mail sink: a minimal SMTP server that accepts every
// message and writes it to a directory, one file per message. integration/wiki_test.go builds
// it, bind-mounts it into the wiki container and runs it there on 127.0.0.1, so the failure
// mails never leave the test's own network namespace.
//
//	smtpsink -listen 127.0.0.1:2525 -dir /run/smtpsink
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2525", "address to listen on")
	dir := flag.String("dir", ".", "directory for the received messages (N.eml)")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	// .ready tells the test the port is open.
	if err := os.WriteFile(filepath.Join(*dir, ".ready"), nil, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("smtpsink: listening on %s, writing to %s", *listen, *dir)
	var n atomic.Int64
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, *dir, &n)
	}
}

func serve(c net.Conn, dir string, n *atomic.Int64) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	say("220 smtpsink ready")
	var from string
	var to []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			say("250 smtpsink")
		case "MAIL":
			from, to = line, nil
			say("250 ok")
		case "RCPT":
			to = append(to, line)
			say("250 ok")
		case "DATA":
			say("354 end with .")
			var msg strings.Builder
			fmt.Fprintf(&msg, "X-Sink-From: %s\r\n", from)
			for _, t := range to {
				fmt.Fprintf(&msg, "X-Sink-To: %s\r\n", t)
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.TrimRight(l, "\r\n") == "." {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			name := filepath.Join(dir, fmt.Sprintf("%d.eml", n.Add(1)))
			if err := os.WriteFile(name+".tmp", []byte(msg.String()), 0o644); err == nil {
				err = os.Rename(name+".tmp", name)
			}
			if err != nil {
				say("451 " + err.Error())
				continue
			}
			log.Printf("smtpsink: stored %s", name)
			say("250 stored")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}
