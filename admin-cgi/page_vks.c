/* page_vks.c — (being written) */
#include "config.h"
#include "router.h"

const AdmRoute adm_routes_vks[] = {
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
