/* Child processes with a known truth for the live collector tests (a runtime like bun would add its own
 * RSS and I/O): burn | alloc MIB | write MIB FILE GOFILE DONEFILE | listen. Each prints "ready ..." and
 * then stays alive until killed. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void ready(const char *what) { printf("ready %s\n", what); fflush(stdout); }
static void wait_forever(void) { for (;;) pause(); }

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "burn") == 0) {
    /* a session of its own = a scheduler autogroup of its own, which the test can give a high weight */
    setsid();
    ready("burn");
    volatile unsigned long x = 0;
    for (;;) x++;
  }
  if (argc >= 3 && strcmp(argv[1], "alloc") == 0) {
    size_t n = (size_t)atol(argv[2]) << 20;
    char *p = malloc(n);
    if (!p) return 1;
    for (size_t i = 0; i < n; i += 4096) p[i] = 1; /* touch every page so it is resident */
    ready("alloc");
    wait_forever();
  }
  if (argc >= 6 && strcmp(argv[1], "write") == 0) {
    size_t mib = (size_t)atol(argv[2]);
    struct stat st;
    ready("write");
    while (stat(argv[4], &st) != 0) usleep(10000); /* start only after the first sample */
    int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 2;
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    for (size_t i = 0; i < mib; i++)
      if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return 3;
    if (fsync(fd) != 0) return 4;
    close(fd);
    close(open(argv[5], O_WRONLY | O_CREAT, 0600));
    wait_forever();
  }
  if (argc >= 2 && strcmp(argv[1], "listen") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0) return 5;
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    ready(port);
    wait_forever();
  }
  fprintf(stderr, "usage: %s burn | alloc MIB | write MIB FILE GOFILE DONEFILE | listen\n", argv[0]);
  return 64;
}
