/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one way an array grows: doubled, so appending costs O(1) on average. */
#ifndef XS_GROW_H
#define XS_GROW_H

#include <stddef.h>

/*
 * Room for at least `need` items of `size` bytes in *array, which has *cap
 * now: doubled from *cap, or from `first` when empty. 0, or -ENOMEM with
 * the array and *cap as they were. Called through grow().
 */
int grow_array(void **array, size_t *cap, size_t need, size_t size, size_t first);

/* grow(&items, &cap, need, first), items being any T *: the array goes
 * through a void * of its own, so no T ** is read as a void **. */
#define grow(itemsp, capp, need, first)                                                  \
	({                                                                               \
		void *grow_items_ = *(itemsp);                                           \
		int grow_err_ = grow_array(&grow_items_, (capp), (need), sizeof(**(itemsp)), \
					   (first));                                     \
		*(itemsp) = grow_items_;                                                 \
		grow_err_;                                                               \
	})

#endif
