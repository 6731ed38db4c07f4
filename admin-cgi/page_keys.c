/* page_keys.c — (being written) */
#include "config.h"
#include "router.h"

const AdmRoute adm_routes_keys[] = {
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
