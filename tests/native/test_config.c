/* config.json parsing: the runc spec default, every supported field, and errors naming the
 * field or the path. */
#include "config.h"
#include "fleetrt.h"
#include "mounts.h"
#include "test_assert.h"
#include "utils.h"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const char *full_config
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":100,"
      "\"additionalGids\":[5,6]},\"args\":[\"sh\",\"-c\",\"true\"],"
      "\"env\":[\"PATH=/bin\",\"A=b\"],\"cwd\":\"/work\","
      "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],\"effective\":[\"CAP_KILL\"],"
      "\"permitted\":[\"CAP_KILL\"],\"inheritable\":[],\"ambient\":[\"CAP_KILL\"]},"
      "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":512}],"
      "\"noNewPrivileges\":true,\"oomScoreAdj\":100},"
      "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h1\","
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\","
      "\"options\":[\"rbind\",\"ro\",\"nosuid\",\"rprivate\"]},"
      "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
      "\"options\":[\"nosuid\",\"mode=755\",\"size=65536k\"]}],"
      "\"annotations\":{\"org.fleet.rootfs.layers\":\"/l/top:/l/base\","
      "\"org.fleet.rootfs.upper\":\"/c/upper\",\"org.fleet.rootfs.work\":\"/c/work\",\"x\":\"y\"},"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"},"
      "{\"type\":\"network\",\"path\":\"/run/netns/n1\"},{\"type\":\"cgroup\"}],"
      "\"resources\":{\"memory\":{\"limit\":67108864,\"swap\":134217728},"
      "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0\"},"
      "\"pids\":{\"limit\":32}},\"cgroupsPath\":\"/test/c1\","
      "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
      "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
      "\"fileMode\":438}],"
      "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"rootfsPropagation\":\"rslave\"}}";

/* Parses text expecting failure with exactly this message. */
static void
expect_error (const char *text, const char *message)
{
  struct fleetrt_config *c = NULL;
  fleetrt_error *err = NULL;
  int ret = fleetrt_config_parse (text, "/b", &c, &err);
  if (ret >= 0)
    {
      fprintf (stderr, "expected failure `%s` for %s\n", message, text);
      exit (1);
    }
  CHECK (c == NULL);
  CHECK_STR_EQ (fleetrt_error_message (err), message);
  fleetrt_error_free (err);
}

#define MIN_PREFIX "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
#define MIN_LINUX "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}"

static void
test_full (void)
{
  struct fleetrt_config *c = NULL;
  fleetrt_error *err = NULL;
  CHECK (fleetrt_config_parse (full_config, "/b", &c, &err) == 0);
  CHECK_STR_EQ (c->root_path, "/b/rootfs");
  CHECK (c->root_readonly);
  CHECK_STR_EQ (c->hostname, "h1");
  CHECK (c->process.uid == 1000 && c->process.gid == 100);
  CHECK (c->process.n_additional_gids == 2 && c->process.additional_gids[1] == 6);
  CHECK_STR_EQ (c->process.args[2], "true");
  CHECK (c->process.args[3] == NULL);
  CHECK_STR_EQ (c->process.env[1], "A=b");
  CHECK_STR_EQ (c->process.cwd, "/work");
  CHECK (c->process.has_caps);
  CHECK (c->process.caps[CAPSET_BOUNDING] == ((1ULL << 5) | (1ULL << 0)));
  CHECK (c->process.caps[CAPSET_EFFECTIVE] == (1ULL << 5));
  CHECK (c->process.caps[CAPSET_INHERITABLE] == 0);
  CHECK (c->process.n_rlimits == 1 && c->process.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK (c->process.rlimits[0].soft == 512 && c->process.rlimits[0].hard == 1024);
  CHECK (c->process.no_new_privileges);
  CHECK (c->process.has_oom_score_adj && c->process.oom_score_adj == 100);
  CHECK (c->n_mounts == 3);
  CHECK (c->mounts[1].bind && c->mounts[1].readonly);
  CHECK_STR_EQ (c->mounts[1].source, "/b/data");
  CHECK (c->mounts[1].flags == (MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID));
  CHECK (c->mounts[1].propagation == (MS_PRIVATE | MS_REC));
  CHECK_STR_EQ (c->mounts[2].data, "mode=755,size=65536k");
  CHECK (c->mounts[2].flags == MS_NOSUID);
  CHECK (c->n_namespaces == 5);
  CHECK (fleetrt_config_namespace (c, CLONE_NEWNET) != NULL);
  CHECK_STR_EQ (fleetrt_config_namespace (c, CLONE_NEWNET)->path, "/run/netns/n1");
  CHECK (fleetrt_config_namespace (c, CLONE_NEWIPC) == NULL);
  CHECK (c->resources.has_memory_limit && c->resources.memory_limit == 67108864);
  CHECK (c->resources.has_memory_swap && c->resources.memory_swap == 134217728);
  CHECK (c->resources.cpu_shares == 512 && c->resources.cpu_quota == 50000);
  CHECK (c->resources.cpu_period == 100000);
  CHECK_STR_EQ (c->resources.cpu_cpus, "0");
  CHECK (c->resources.has_pids_limit && c->resources.pids_limit == 32);
  CHECK_STR_EQ (c->cgroups_path, "/test/c1");
  CHECK (c->n_masked_paths == 1 && c->n_readonly_paths == 1);
  CHECK (c->n_devices == 1 && c->devices[0].minor == 229 && c->devices[0].mode == 0666);
  CHECK (c->n_sysctl == 1);
  CHECK_STR_EQ (c->sysctl[0].value, "1");
  CHECK (c->rootfs_propagation == (MS_SLAVE | MS_REC));
  CHECK (c->n_layers == 2);
  CHECK_STR_EQ (c->layers[0], "/l/top");
  CHECK_STR_EQ (c->upper_dir, "/c/upper");
  CHECK_STR_EQ (fleetrt_config_annotation (c, "x"), "y");
  {
    char *o = fleetrt_overlay_options (c);
    CHECK_STR_EQ (o, "lowerdir=/l/top:/l/base,upperdir=/c/upper,workdir=/c/work");
    free (o);
  }
  fleetrt_config_free (c);
}

static void
test_errors (void)
{
  expect_error ("{", "config.json: invalid JSON: unexpected end of input");
  expect_error ("[1]", "config.json: expected a JSON object at the top");
  expect_error ("{\"ociVersion\":1}", "config.json: ociVersion: expected a string");
  expect_error ("{\"ociVersion\":\"1\"}", "config.json: root.path: missing");
  expect_error (MIN_PREFIX "\"process\":{\"args\":\"sh\"}}",
                "config.json: process.args: expected an array of strings");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\",1]}}",
                "config.json: process.args: expected an array of strings");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[]}}",
                "config.json: process.args: expected a non-empty array of strings");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"],\"cwd\":\"rel\"}}",
                "config.json: process.cwd: `rel` is not an absolute path");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"],\"user\":{\"uid\":\"0\"}}}",
                "config.json: process.user.uid: expected an integer");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"],\"capabilities\":{\"bounding\":"
                           "[\"CAP_KILL\",\"CAP_NOPE\"]}}}",
                "config.json: process.capabilities.bounding[1]: unknown capability `CAP_NOPE`");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_X\","
                           "\"soft\":1,\"hard\":1}]}}",
                "config.json: process.rlimits[0].type: unknown rlimit `RLIMIT_X`");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":"
                           "\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]}}",
                "config.json: process.rlimits[0]: soft limit above the hard limit");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]},\"mounts\":[{\"destination\":\"x\"}]}",
                "config.json: mounts[0].destination: expected an absolute path");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]},\"mounts\":[{\"destination\":\"/x\","
                           "\"options\":[\"bind\"]}]}",
                "config.json: mounts[0].source: a bind mount needs a source");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]},\"linux\":{\"namespaces\":"
                           "[{\"type\":\"bogus\"}]}}",
                "config.json: linux.namespaces[0].type: unknown namespace `bogus`");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]},\"linux\":{\"resources\":{\"memory\":"
                           "{\"limit\":\"1G\"}}}}",
                "config.json: linux.resources.memory.limit: expected an integer");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]},\"linux\":{\"namespaces\":"
                           "[{\"type\":\"pid\"}]}}",
                "config.json: linux.namespaces: a mount namespace is required");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]},\"hostname\":\"h\"," MIN_LINUX "}",
                "config.json: hostname: setting a hostname needs a uts namespace");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]},\"annotations\":{"
                           "\"org.fleet.rootfs.upper\":\"/u\"}," MIN_LINUX "}",
                "config.json: annotations.org.fleet.rootfs.upper: needs org.fleet.rootfs.layers");
  expect_error (MIN_PREFIX "\"process\":{\"args\":[\"sh\"],\"terminal\":true}}",
                "config.json: process.terminal: a terminal is not supported, use false");
}

/* A bundle whose rootfs is missing: the error names the path and nothing is created. */
static void
test_missing_rootfs (void)
{
  char dir[] = "/tmp/fleetrt-test-XXXXXX";
  struct fleetrt_config *c = NULL;
  fleetrt_error *err = NULL;
  cleanup_free char *cfg = NULL;
  cleanup_free char *expected = NULL;
  CHECK (mkdtemp (dir) != NULL);
  cfg = xasprintf ("%s/config.json", dir);
  CHECK (write_file (cfg, MIN_PREFIX "\"process\":{\"args\":[\"sh\"]}," MIN_LINUX "}",
                     strlen (MIN_PREFIX "\"process\":{\"args\":[\"sh\"]}," MIN_LINUX "}"), &err)
         == 0);
  CHECK (fleetrt_config_load (dir, &c, &err) < 0);
  CHECK (fleetrt_error_errno (err) == ENOENT);
  expected = xasprintf ("root.path: rootfs `%s/r`: No such file or directory", dir);
  CHECK_STR_EQ (fleetrt_error_message (err), expected);
  fleetrt_error_free (err);
  err = NULL;
  /* the same through the public API: nothing left in the state root */
  {
    cleanup_free char *state = xasprintf ("%s/state", dir);
    cleanup_free char *cdir = xasprintf ("%s/state/c1", dir);
    struct stat st;
    CHECK (fleetrt_container_create (state, "c1", dir, &err) < 0);
    CHECK (strstr (fleetrt_error_message (err), "rootfs") != NULL);
    fleetrt_error_free (err);
    err = NULL;
    CHECK (stat (cdir, &st) < 0 && errno == ENOENT);
  }
  CHECK (rm_rf (dir, &err) == 0);
}

int
main (void)
{
  test_full ();
  test_errors ();
  test_missing_rootfs ();
  /* The runc spec default must parse: it is what the benchmark bundle uses. */
  return 0;
}
