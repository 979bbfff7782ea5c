/* The yardstick for bench/collect.ts: a minimal C reader of the same per-process files the agent reads.
 *   reader collect N [GAP_MS]
 *                      N full scans of /proc/<pid>/{stat,io,statm} (readdir, open/read/close, light parse),
 *                      GAP_MS idle before each; prints JSON with CPU ms (getrusage) and wall ms per scan
 *   reader fork N      forks N idle children (no exec: fast and tiny), prints "ready", waits; everything
 *                      dies with its parent (PR_SET_PDEATHSIG), so no leftovers even if the bench is killed
 *   reader rusage CMD  runs CMD and prints its CPU ms and peak RSS as JSON on stderr. Needed because a child
 *                      spawned by Bun (vfork) inherits Bun's RSS high-water mark in ru_maxrss; a fork of this
 *                      small process does not */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

static ssize_t read_file(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n >= 0) buf[n] = 0;
  return n;
}

static double ms(struct timeval t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* one scan; returns the number of processes read; the sum keeps the parse from being optimised away */
static int scan(unsigned long long *sum) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  char path[300];
  int n = 0;
  while ((e = readdir(d)) != NULL) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    if (read_file(path) <= 0) continue;
    char *p = strrchr(buf, ')');
    if (!p) continue;
    unsigned long utime = 0, stime = 0, start = 0;
    long threads = 0;
    int ppid = 0;
    /* fields after comm: state ppid ... utime(14) stime(15) ... num_threads(20) ... starttime(22) */
    sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d %lu", &ppid, &utime, &stime, &threads, &start);
    *sum += utime + stime + start + threads + ppid;
    snprintf(path, sizeof path, "/proc/%s/io", e->d_name);
    if (read_file(path) > 0) {
      char *r = strstr(buf, "\nread_bytes: "), *w = strstr(buf, "\nwrite_bytes: ");
      if (r && w) *sum += strtoull(r + 13, NULL, 10) + strtoull(w + 14, NULL, 10);
    }
    snprintf(path, sizeof path, "/proc/%s/statm", e->d_name);
    if (read_file(path) > 0) {
      unsigned long size = 0, rss = 0;
      sscanf(buf, "%lu %lu", &size, &rss);
      *sum += rss;
    }
    n++;
  }
  closedir(d);
  return n;
}

int main(int argc, char **argv) {
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "collect") == 0) {
    int runs = atoi(argv[2]);
    int gap_ms = argc == 4 ? atoi(argv[3]) : 0;
    unsigned long long sum = 0;
    int procs = scan(&sum); /* warm-up, like the agent's priming call */
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    double t0 = now_ms();
    for (int i = 0; i < runs; i++) {
      if (gap_ms > 0) usleep(gap_ms * 1000); /* idle between passes, as the agent is between rounds */
      procs = scan(&sum);
    }
    double wall = now_ms() - t0 - (double)gap_ms * runs;
    getrusage(RUSAGE_SELF, &b);
    double cpu = (ms(b.ru_utime) - ms(a.ru_utime)) + (ms(b.ru_stime) - ms(a.ru_stime));
    printf("{\"processes\":%d,\"cpu_ms\":%.3f,\"wall_ms\":%.3f,\"max_rss_kb\":%ld,\"checksum\":%llu}\n", procs, cpu / runs, wall / runs, b.ru_maxrss, sum % 1000);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "fork") == 0) {
    int n = atoi(argv[2]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int i = 0; i < n; i++) {
      pid_t pid = fork();
      if (pid < 0) { perror("fork"); return 1; }
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) pause();
      }
    }
    printf("ready %d\n", n);
    fflush(stdout);
    for (;;) pause();
  }
  if (argc >= 3 && strcmp(argv[1], "rusage") == 0) {
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
      execvp(argv[2], argv + 2);
      perror("exec");
      _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 1; }
    fprintf(stderr, "{\"exit\":%d,\"cpu_ms\":%.3f,\"wall_ms\":%.3f,\"max_rss_kb\":%ld}\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128,
            ms(ru.ru_utime) + ms(ru.ru_stime), now_ms() - t0, ru.ru_maxrss);
    return 0;
  }
  fprintf(stderr, "usage: %s collect N | fork N | rusage CMD...\n", argv[0]);
  return 64;
}
