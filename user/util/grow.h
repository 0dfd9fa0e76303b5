/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one way an array grows: doubled, so appending costs O(1) on average. */
#ifndef XS_GROW_H
#define XS_GROW_H

#include <stddef.h>

/*
 * Room for at least `need` items of `size` bytes in the array *items
 * points to (items: the address of the array's pointer), which has *cap
 * now: doubled from *cap, or from `first` when empty. 0, or -ENOMEM with
 * the array and *cap as they were.
 */
int grow(void *items, size_t *cap, size_t need, size_t size, size_t first);

#endif
