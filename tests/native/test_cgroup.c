/* The cgroup backends against a fake hierarchy in a temp dir (FLEETRT_CGROUP_MOUNT): the files
 * they write for a config's resources and the stats they read. The real kernel paths are
 * covered by the black-box tests. */
#include "cgroup.h"
#include "test_assert.h"
#include "utils.h"

#include <sys/stat.h>

static char *
slurp (const char *dir, const char *file)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  char *text = NULL;
  fleetrt_error *err = NULL;
  if (read_file (p, &text, NULL, &err) < 0)
    {
      fprintf (stderr, "%s\n", fleetrt_error_message (err));
      exit (1);
    }
  return text;
}

static void
put (const char *dir, const char *file, const char *text)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  fleetrt_error *err = NULL;
  CHECK (write_file (p, text, strlen (text), &err) == 0);
}

static void
test_v2 (const char *mount)
{
  struct fleetrt_resources res = { 0 };
  struct fleetrt_cgroup_stats st;
  fleetrt_error *err = NULL;
  cleanup_free char *dir = xasprintf ("%s/ctr/c1", mount);
  cleanup_free char *v = NULL;

  res.has_memory_limit = res.has_memory_swap = res.has_cpu_shares = true;
  res.has_cpu_quota = res.has_cpu_period = res.has_pids_limit = true;
  res.memory_limit = 64 << 20;
  res.memory_swap = 96 << 20;
  res.cpu_shares = 1024;
  res.cpu_quota = 50000;
  res.cpu_period = 100000;
  res.pids_limit = 20;
  CHECK (fleetrt_cgroup_v2.create (mount, "/ctr/c1", &res, &err) == 0);
  CHECK_STR_EQ ((v = slurp (dir, "memory.max")), "67108864");
  free (v);
  CHECK_STR_EQ ((v = slurp (dir, "memory.swap.max")), "33554432");
  free (v);
  CHECK_STR_EQ ((v = slurp (dir, "cpu.weight")), "39");
  free (v);
  CHECK_STR_EQ ((v = slurp (dir, "cpu.max")), "50000 100000");
  free (v);
  CHECK_STR_EQ ((v = slurp (dir, "pids.max")), "20");
  free (v);
  /* the parent delegates controllers */
  {
    cleanup_free char *parent = xasprintf ("%s/ctr", mount);
    CHECK_STR_EQ ((v = slurp (parent, "cgroup.subtree_control")), "+cpuset");
    free (v);
    v = NULL;
  }
  put (dir, "cpu.stat", "usage_usec 1500\nuser_usec 1000\n");
  put (dir, "memory.current", "4096\n");
  put (dir, "memory.peak", "8192\n");
  put (dir, "memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
  put (dir, "pids.current", "3\n");
  CHECK (fleetrt_cgroup_v2.stats (mount, "/ctr/c1", &st, &err) == 0);
  CHECK (st.cpu_usage_ns == 1500000);
  CHECK (st.memory_usage_bytes == 4096 && st.memory_peak_bytes == 8192);
  CHECK (st.memory_limit_bytes == 64 << 20);
  CHECK (st.pids_current == 3 && st.oom_kills == 1);
  put (dir, "memory.max", "max\n");
  CHECK (fleetrt_cgroup_v2.stats (mount, "/ctr/c1", &st, &err) == 0);
  CHECK (st.memory_limit_bytes == -1);
}

static void
test_v1 (const char *mount)
{
  static const char *const hier[] = { "memory", "cpu", "cpuacct", "pids", "freezer" };
  struct fleetrt_resources res = { 0 };
  struct fleetrt_cgroup_stats st;
  fleetrt_error *err = NULL;
  char *v;

  for (size_t i = 0; i < 5; i++)
    {
      cleanup_free char *d = xasprintf ("%s/%s", mount, hier[i]);
      CHECK (mkdir (d, 0755) == 0);
    }
  res.has_memory_limit = res.has_memory_swap = res.has_pids_limit = true;
  res.has_cpu_quota = true;
  res.memory_limit = 1 << 20;
  res.memory_swap = -1;
  res.cpu_quota = -1;
  res.pids_limit = 0;
  CHECK (fleetrt_cgroup_v1.create (mount, "/a/b", &res, &err) == 0);
  {
    cleanup_free char *mem = xasprintf ("%s/memory/a/b", mount);
    cleanup_free char *cpu = xasprintf ("%s/cpu/a/b", mount);
    cleanup_free char *pids = xasprintf ("%s/pids/a/b", mount);
    cleanup_free char *acct = xasprintf ("%s/cpuacct/a/b", mount);
    struct stat sb;
    cleanup_free char *fr = xasprintf ("%s/freezer/a/b", mount);
    CHECK (stat (fr, &sb) == 0);
    CHECK_STR_EQ ((v = slurp (mem, "memory.limit_in_bytes")), "1048576");
    free (v);
    CHECK_STR_EQ ((v = slurp (mem, "memory.memsw.limit_in_bytes")), "-1");
    free (v);
    CHECK_STR_EQ ((v = slurp (cpu, "cpu.cfs_quota_us")), "-1");
    free (v);
    CHECK_STR_EQ ((v = slurp (pids, "pids.max")), "max");
    free (v);
    put (acct, "cpuacct.usage", "12345\n");
    put (mem, "memory.usage_in_bytes", "100\n");
    put (mem, "memory.max_usage_in_bytes", "200\n");
    put (mem, "memory.limit_in_bytes", "9223372036854771712\n");
    put (mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    put (pids, "pids.current", "4\n");
  }
  CHECK (fleetrt_cgroup_v1.stats (mount, "/a/b", &st, &err) == 0);
  CHECK (st.cpu_usage_ns == 12345 && st.memory_usage_bytes == 100);
  CHECK (st.memory_peak_bytes == 200 && st.memory_limit_bytes == -1);
  CHECK (st.pids_current == 4 && st.oom_kills == 2);
}

int
main (void)
{
  char base[] = "/tmp/fleetrt-cgtest-XXXXXX";
  fleetrt_error *err = NULL;
  CHECK (mkdtemp (base) != NULL);
  {
    cleanup_free char *v2 = xasprintf ("%s/v2", base);
    cleanup_free char *v1 = xasprintf ("%s/v1", base);
    CHECK (mkdir (v2, 0755) == 0 && mkdir (v1, 0755) == 0);
    test_v2 (v2);
    test_v1 (v1);
  }
  CHECK (rm_rf (base, &err) == 0);
  return 0;
}
