/** The subject CN of Gatehouse's generated default certificate (Traefik's is "TRAEFIK DEFAULT CERT"). */
export const DEFAULT_CERT_CN = 'GATEHOUSE DEFAULT CERT';
