// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "iface.h"
#include "log.h"

/* Offloads that change what XDP sees: merged segments or stripped tags. */
static const char *const offloads[] = {
	"rx-gro", "large-receive-offload", "rx-gro-hw", "rx-vlan-hw-parse",
	"rx-vlan-stag-hw-parse",
};

static int ethtool_ioctl(const char *ifname, void *cmd)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	return err;
}

/* The kernel's feature names, in bit order. */
static int feature_names(const char *ifname, struct ethtool_gstrings **out)
{
	struct {
		struct ethtool_sset_info hdr;
		__u32 buf[1];
	} sset = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_FEATURES } };
	struct ethtool_gstrings *s;
	__u32 n;
	int err;

	err = ethtool_ioctl(ifname, &sset);
	if (err)
		return err;
	n = sset.hdr.sset_mask ? sset.hdr.data[0] : 0;
	s = calloc(1, sizeof(*s) + n * ETH_GSTRING_LEN);
	if (!s)
		return -ENOMEM;
	s->cmd = ETHTOOL_GSTRINGS;
	s->string_set = ETH_SS_FEATURES;
	s->len = n;
	err = ethtool_ioctl(ifname, s);
	if (err) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

static int feature_index(const struct ethtool_gstrings *s, const char *name)
{
	for (__u32 i = 0; i < s->len; i++)
		if (!strncmp((const char *)s->data + i * ETH_GSTRING_LEN, name, ETH_GSTRING_LEN))
			return (int)i;
	return -1;
}

#define FEATURE_WORDS(n) (((n) + 31) / 32)

/* Sets the named features on or off; reports which were active before. */
static int set_features(const char *ifname, const char *const *names, int count, bool on,
			bool *was_on)
{
	struct ethtool_gstrings *s = NULL;
	struct ethtool_gfeatures *g = NULL;
	struct ethtool_sfeatures *sf = NULL;
	__u32 words;
	int err, changes = 0;

	err = feature_names(ifname, &s);
	if (err)
		return err;
	words = FEATURE_WORDS(s->len);
	g = calloc(1, sizeof(*g) + words * sizeof(g->features[0]));
	sf = calloc(1, sizeof(*sf) + words * sizeof(sf->features[0]));
	if (!g || !sf) {
		err = -ENOMEM;
		goto out;
	}
	g->cmd = ETHTOOL_GFEATURES;
	g->size = words;
	err = ethtool_ioctl(ifname, g);
	if (err)
		goto out;
	sf->cmd = ETHTOOL_SFEATURES;
	sf->size = words;
	for (int i = 0; i < count; i++) {
		int bit = feature_index(s, names[i]);
		__u32 w, m;

		if (was_on)
			was_on[i] = false;
		if (bit < 0)
			continue;
		w = (__u32)bit / 32;
		m = 1u << (bit % 32);
		if (was_on)
			was_on[i] = g->features[w].active & m;
		if (!!(g->features[w].active & m) == on)
			continue;
		if (!(g->features[w].available & m) || (g->features[w].never_changed & m))
			continue; /* fixed by the driver: nothing to do */
		sf->features[w].valid |= m;
		if (on)
			sf->features[w].requested |= m;
		changes++;
	}
	if (changes)
		err = ethtool_ioctl(ifname, sf);
	if (err > 0) /* ETHTOOL_F_* warning bits: some request was adjusted */
		err = 0;
out:
	free(sf);
	free(g);
	free(s);
	return err;
}

static void state_path(const char *ifname, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.offloads", XS_STATE_DIR, ifname);
}

static int save_state(const struct iface_settings *st)
{
	char path[128];
	FILE *f;

	mkdir(XS_STATE_DIR, 0700);
	state_path(st->ifname, path, sizeof(path));
	f = fopen(path, "w");
	if (!f)
		return -errno;
	for (int i = 0; i < st->changed; i++)
		fprintf(f, "%s\n", st->feature[i]);
	return fclose(f) ? -errno : 0;
}

int iface_load_state(const char *ifname, struct iface_settings *st)
{
	char path[128], line[64];
	FILE *f;

	memset(st, 0, sizeof(*st));
	snprintf(st->ifname, sizeof(st->ifname), "%s", ifname);
	state_path(ifname, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (st->changed < IFACE_MAX_CHANGED && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line)
			snprintf(st->feature[st->changed++], sizeof(st->feature[0]), "%.31s", line);
	}
	fclose(f);
	return 0;
}

int iface_offloads_off(const char *ifname, struct iface_settings *st)
{
	const int n = sizeof(offloads) / sizeof(offloads[0]);
	bool was_on[sizeof(offloads) / sizeof(offloads[0])];
	int err;

	memset(st, 0, sizeof(*st));
	snprintf(st->ifname, sizeof(st->ifname), "%s", ifname);
	err = set_features(ifname, offloads, n, false, was_on);
	if (err) {
		pr_warn("%s: cannot turn off receive offloads: %s\n", ifname, strerror(-err));
		return err;
	}
	for (int i = 0; i < n; i++) {
		if (!was_on[i])
			continue;
		snprintf(st->feature[st->changed++], sizeof(st->feature[0]), "%s", offloads[i]);
		pr_info("%s: turned %s off (restored on exit)\n", ifname, offloads[i]);
	}
	err = save_state(st);
	if (err)
		pr_warn("%s: cannot save interface state in %s: %s\n", ifname, XS_STATE_DIR,
			strerror(-err));
	return err;
}

int iface_restore(const struct iface_settings *st)
{
	const char *names[IFACE_MAX_CHANGED];
	char path[128];
	int err = 0;

	for (int i = 0; i < st->changed; i++)
		names[i] = st->feature[i];
	if (st->changed)
		err = set_features(st->ifname, names, st->changed, true, NULL);
	if (err && err != -ENODEV) {
		pr_warn("%s: cannot restore offloads: %s\n", st->ifname, strerror(-err));
		return err;
	}
	for (int i = 0; i < st->changed && !err; i++)
		pr_info("%s: restored %s\n", st->ifname, st->feature[i]);
	state_path(st->ifname, path, sizeof(path));
	unlink(path);
	return 0;
}

int iface_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	char path[128];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	if (!ethtool_ioctl(ifname, &ch) && (ch.rx_count || ch.combined_count))
		return (int)(ch.rx_count + ch.combined_count);
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	dir = opendir(path);
	if (!dir)
		return 1;
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, "rx-", 3);
	closedir(dir);
	return n ? n : 1;
}
