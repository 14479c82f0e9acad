#include "net.h"
#include "fleetrt.h"
#include "utils.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct nl_req
{
  char buf[1024];
  size_t len;
};

static struct nlmsghdr *
nl_begin (struct nl_req *r, int type, int flags, const void *body, size_t body_len)
{
  struct nlmsghdr *h = (struct nlmsghdr *) r->buf;
  memset (r->buf, 0, sizeof r->buf);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  h->nlmsg_seq = 1;
  memcpy (r->buf + NLMSG_HDRLEN, body, body_len);
  r->len = NLMSG_HDRLEN + NLMSG_ALIGN (body_len);
  h->nlmsg_len = r->len;
  return h;
}

static struct rtattr *
nl_attr (struct nl_req *r, int type, const void *data, size_t len)
{
  struct rtattr *a = (struct rtattr *) (r->buf + r->len);
  a->rta_type = type;
  a->rta_len = RTA_LENGTH (len);
  if (len)
    memcpy (RTA_DATA (a), data, len);
  r->len += RTA_ALIGN (a->rta_len);
  ((struct nlmsghdr *) r->buf)->nlmsg_len = r->len;
  return a;
}

static void
nl_nest_end (struct nl_req *r, struct rtattr *nest)
{
  nest->rta_len = (unsigned short) (r->buf + r->len - (char *) nest);
}

/* Sends one request and waits for its ack; returns -errno from the kernel. */
static int
nl_call (int fd, struct nl_req *r)
{
  char reply[4096];
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  ssize_t n;
  if (sendto (fd, r->buf, r->len, 0, (struct sockaddr *) &sa, sizeof sa) < 0)
    return -errno;
  n = recv (fd, reply, sizeof reply, 0);
  if (n < 0)
    return -errno;
  for (struct nlmsghdr *h = (struct nlmsghdr *) reply; NLMSG_OK (h, (size_t) n);
       h = NLMSG_NEXT (h, n))
    if (h->nlmsg_type == NLMSG_ERROR)
      return ((struct nlmsgerr *) NLMSG_DATA (h))->error;
  return 0;
}

static int
nl_open (fleetrt_error **err)
{
  int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return fleetrt_fail (err, errno, "netlink socket");
  return fd;
}

static int
link_up (int fd, int ifindex)
{
  struct nl_req r;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex,
                           .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  nl_begin (&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  return nl_call (fd, &r);
}

int
fleetrt_net_from_config (const struct fleetrt_config *c, struct fleetrt_net_config *n,
                         fleetrt_error **err)
{
  n->bridge = fleetrt_config_annotation (c, FLEETRT_ANNOTATION_NET_BRIDGE);
  n->address = fleetrt_config_annotation (c, FLEETRT_ANNOTATION_NET_ADDRESS);
  n->gateway = fleetrt_config_annotation (c, FLEETRT_ANNOTATION_NET_GATEWAY);
  if (n->bridge == NULL && n->address == NULL)
    return 1;
  if (n->bridge == NULL || n->address == NULL)
    return fleetrt_fail_msg (err, EINVAL, "config.json: annotations." FLEETRT_ANNOTATION_NET_BRIDGE
                                          " and " FLEETRT_ANNOTATION_NET_ADDRESS " go together");
  if (strlen (n->bridge) >= IFNAMSIZ)
    return fleetrt_fail_msg (err, EINVAL, "config.json: annotations." FLEETRT_ANNOTATION_NET_BRIDGE
                                          ": `%s` is longer than %d", n->bridge, IFNAMSIZ - 1);
  {
    struct in_addr a;
    cleanup_free char *ip = xstrdup (n->address);
    char *slash = strchr (ip, '/');
    if (slash == NULL || inet_pton (AF_INET, (*slash = '\0', ip), &a) != 1 || atoi (slash + 1) < 1
        || atoi (slash + 1) > 32)
      return fleetrt_fail_msg (err, EINVAL, "config.json: annotations." FLEETRT_ANNOTATION_NET_ADDRESS
                                            ": `%s` is not an IPv4 CIDR", n->address);
    if (n->gateway && inet_pton (AF_INET, n->gateway, &a) != 1)
      return fleetrt_fail_msg (err, EINVAL, "config.json: annotations." FLEETRT_ANNOTATION_NET_GATEWAY
                                            ": `%s` is not an IPv4 address", n->gateway);
  }
  if (fleetrt_config_namespace (c, CLONE_NEWNET) == NULL
      || fleetrt_config_namespace (c, CLONE_NEWNET)->path)
    return fleetrt_fail_msg (err, EINVAL, "config.json: annotations." FLEETRT_ANNOTATION_NET_BRIDGE
                                          ": needs a new network namespace");
  return 0;
}

int
fleetrt_net_setup_host (const struct fleetrt_net_config *n, const char *id, pid_t pid,
                        fleetrt_error **err)
{
  cleanup_close int fd = nl_open (err);
  struct nl_req r;
  char host[IFNAMSIZ];
  unsigned hash = 5381;
  int br, ret;

  if (fd < 0)
    return fd;
  /* bridge: create if missing, then up */
  br = (int) if_nametoindex (n->bridge);
  if (br == 0)
    {
      struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
      struct rtattr *info;
      nl_begin (&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
      nl_attr (&r, IFLA_IFNAME, n->bridge, strlen (n->bridge) + 1);
      info = nl_attr (&r, IFLA_LINKINFO, NULL, 0);
      nl_attr (&r, IFLA_INFO_KIND, "bridge", 6);
      nl_nest_end (&r, info);
      ret = nl_call (fd, &r);
      if (ret < 0 && ret != -EEXIST)
        return fleetrt_fail (err, -ret, "create bridge `%s`", n->bridge);
      br = (int) if_nametoindex (n->bridge);
      if (br == 0)
        return fleetrt_fail (err, errno, "bridge `%s`", n->bridge);
    }
  if ((ret = link_up (fd, br)) < 0)
    return fleetrt_fail (err, -ret, "bring bridge `%s` up", n->bridge);

  /* veth: host end "fl" + hash of the id and pid, peer "eth0" created straight in the
   * container's namespace. A previous container's veth can outlive it briefly (namespaces are
   * torn down asynchronously): on a name clash, try another name. */
  for (const char *s = id; *s; s++)
    hash = hash * 33 + (unsigned char) *s;
  hash ^= (unsigned) pid * 2654435761u;
  for (int attempt = 0;; attempt++)
  {
    snprintf (host, sizeof host, "fl%08x", hash + (unsigned) attempt * 0x9e3779b9u);
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
    struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
    struct rtattr *info, *data, *peer;
    uint32_t netns_pid = (uint32_t) pid;
    uint32_t master = (uint32_t) br;
    nl_begin (&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
    nl_attr (&r, IFLA_IFNAME, host, strlen (host) + 1);
    nl_attr (&r, IFLA_MASTER, &master, sizeof master);
    info = nl_attr (&r, IFLA_LINKINFO, NULL, 0);
    nl_attr (&r, IFLA_INFO_KIND, "veth", 4);
    data = nl_attr (&r, IFLA_INFO_DATA, NULL, 0);
    peer = nl_attr (&r, VETH_INFO_PEER, &peer_ifi, sizeof peer_ifi);
    nl_attr (&r, IFLA_IFNAME, "eth0", 5);
    nl_attr (&r, IFLA_NET_NS_PID, &netns_pid, sizeof netns_pid);
    nl_nest_end (&r, peer);
    nl_nest_end (&r, data);
    nl_nest_end (&r, info);
    ret = nl_call (fd, &r);
    if (ret == -EEXIST && attempt < 8)
      continue;
    if (ret < 0)
      return fleetrt_fail (err, -ret, "create veth `%s` for container `%s`", host, id);
    break;
  }
  if ((ret = link_up (fd, (int) if_nametoindex (host))) < 0)
    return fleetrt_fail (err, -ret, "bring `%s` up", host);
  return 0;
}

int
fleetrt_net_setup_container (const struct fleetrt_net_config *n, fleetrt_error **err)
{
  cleanup_close int fd = nl_open (err);
  cleanup_free char *ip = xstrdup (n->address);
  char *slash = strchr (ip, '/');
  struct in_addr addr, gw;
  struct nl_req r;
  int eth0, ret;

  if (fd < 0)
    return fd;
  *slash = '\0';
  inet_pton (AF_INET, ip, &addr);
  eth0 = (int) if_nametoindex ("eth0");
  if (eth0 == 0)
    return fleetrt_fail (err, errno, "eth0 in the container");
  {
    struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char) atoi (slash + 1),
                             .ifa_index = (unsigned) eth0 };
    nl_begin (&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
    nl_attr (&r, IFA_LOCAL, &addr, sizeof addr);
    nl_attr (&r, IFA_ADDRESS, &addr, sizeof addr);
    if ((ret = nl_call (fd, &r)) < 0)
      return fleetrt_fail (err, -ret, "add address %s to eth0", n->address);
  }
  if ((ret = link_up (fd, eth0)) < 0)
    return fleetrt_fail (err, -ret, "bring eth0 up");
  if (n->gateway)
    {
      struct rtmsg rt = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
                          .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
                          .rtm_type = RTN_UNICAST };
      uint32_t oif = (uint32_t) eth0;
      inet_pton (AF_INET, n->gateway, &gw);
      nl_begin (&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
      nl_attr (&r, RTA_GATEWAY, &gw, sizeof gw);
      nl_attr (&r, RTA_OIF, &oif, sizeof oif);
      if ((ret = nl_call (fd, &r)) < 0)
        return fleetrt_fail (err, -ret, "default route via %s", n->gateway);
    }
  return 0;
}
