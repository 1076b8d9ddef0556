/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel types rearview's BPF programs read, written by hand instead of a generated vmlinux.h.
 *
 * Provenance: field names and types follow the Linux kernel sources (include/linux/sched.h, fs.h,
 * dcache.h, mount.h, fs/mount.h, pid.h, cgroup-defs.h, kernfs.h, net/sock.h, binfmts.h) as of
 * v6.18, checked against `bpftool btf dump file /sys/kernel/btf/vmlinux format c` on 6.18.44.
 * Only the fields the programs touch are declared. Every struct carries preserve_access_index, so
 * clang emits CO-RE relocations and libbpf fixes the offsets for the running kernel at load time;
 * layout here does not have to match the kernel, only names do. Renamed fields are declared as
 * "___flavor" variants and chosen with bpf_core_field_exists (kernfs_node.parent -> __parent, 6.15).
 */
#ifndef REARVIEW_KERNEL_H
#define REARVIEW_KERNEL_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

/* UAPI constants (include/uapi/linux/bpf.h): stable ABI, declared here because no vmlinux.h is used. */
enum bpf_map_type {
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
    BPF_MAP_TYPE_LRU_HASH = 9,
    BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
    BPF_ANY = 0,
    BPF_NOEXIST = 1,
};
enum {
    BPF_RB_NO_WAKEUP = 1,
    BPF_RB_FORCE_WAKEUP = 2,
};
enum {
    BPF_RB_AVAIL_DATA = 0,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
    int counter;
} atomic_t;

struct qstr {
    union {
        struct {
            __u32 hash;
            __u32 len;
        };
        __u64 hash_len;
    };
    const unsigned char *name;
};

struct dentry {
    struct dentry *d_parent;
    struct qstr d_name;
};

struct vfsmount {
    struct dentry *mnt_root;
};

struct mount {
    struct mount *mnt_parent;
    struct dentry *mnt_mountpoint;
    struct vfsmount mnt;
};

struct path {
    struct vfsmount *mnt;
    struct dentry *dentry;
};

struct file {
    struct path f_path;
    void *private_data;
};

struct fdtable {
    unsigned int max_fds;
    struct file **fd;
};

struct files_struct {
    struct fdtable *fdt;
};

struct fs_struct {
    struct path root;
    struct path pwd;
};

struct ns_common {
    unsigned int inum;
};

struct pid_namespace {
    struct ns_common ns;
};

struct mnt_namespace {
    struct ns_common ns;
};

struct nsproxy {
    struct mnt_namespace *mnt_ns;
};

struct upid {
    int nr;
    struct pid_namespace *ns;
};

struct pid {
    unsigned int level;
    struct upid numbers[1];
};

struct tty_struct {
    char name[64];
};

struct signal_struct {
    atomic_t live;
    int group_exit_code;
    unsigned int flags;
    struct tty_struct *tty;
};

struct mm_struct {
    unsigned long arg_start;
    unsigned long arg_end;
};

struct kernfs_node {
    const char *name;
    __u64 id;
};

/* Before 6.15 the parent link was called `parent`; since then it is `__parent`. */
struct kernfs_node___pre615 {
    struct kernfs_node *parent;
};
struct kernfs_node___615 {
    struct kernfs_node *__parent;
};

struct cgroup {
    struct kernfs_node *kn;
};

struct cgroup_subsys_state {
    struct cgroup *cgroup;
};

struct css_set {
    struct cgroup_subsys_state *subsys[12];
    struct cgroup *dfl_cgrp;
};

struct task_struct {
    unsigned int flags;
    struct mm_struct *mm;
    int exit_code;
    int pid;
    int tgid;
    struct task_struct *real_parent;
    struct task_struct *group_leader;
    struct pid *thread_pid;
    char comm[16];
    struct fs_struct *fs;
    struct files_struct *files;
    struct nsproxy *nsproxy;
    struct signal_struct *signal;
    struct css_set *cgroups;
};

struct linux_binprm {
    struct file *file;
    const char *filename;
};

struct in6_addr {
    union {
        __u8 u6_addr8[16];
    } in6_u;
};

struct sock_common {
    union {
        struct {
            __be32 skc_daddr;
            __be32 skc_rcv_saddr;
        };
    };
    union {
        struct {
            __be16 skc_dport;
            __u16 skc_num;
        };
    };
    unsigned short skc_family;
    struct in6_addr skc_v6_daddr;
    struct in6_addr skc_v6_rcv_saddr;
};

struct sock {
    struct sock_common __sk_common;
    int sk_err;
    __u16 sk_protocol;
    __u16 sk_type;
};

struct socket {
    short type;
    struct sock *sk;
};

#if defined(__TARGET_ARCH_x86)
struct pt_regs {
    unsigned long r10;
    unsigned long r9;
    unsigned long r8;
    unsigned long dx;
    unsigned long si;
    unsigned long di;
    unsigned long orig_ax;
};
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
    __u64 regs[31];
};
struct pt_regs {
    union {
        struct user_pt_regs user_regs;
        struct {
            __u64 regs[31];
        };
    };
    __u64 orig_x0;
    __s32 syscallno;
};
#else
#error "rearview's BPF programs support x86_64 and arm64: define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif

#pragma clang attribute pop

/*
 * Context of the classic syscall exit tracepoints (tracepoint/syscalls/sys_exit_*), laid out as
 * /sys/kernel/tracing/events/syscalls/sys_exit_<name>/format describes it. Not CO-RE relocated: the
 * tracepoint record format is ABI.
 */
struct rv_syscall_exit_ctx {
    __u64 common;
    __s32 syscall_nr;
    __u32 pad;
    __s64 ret;
};

#endif
