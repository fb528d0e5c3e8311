<?php
// The wiki image's own MediaWiki settings (/usr/share/wiki-image/LocalSettings.image.php).
// They belong to the image, not to the volume: a new image may change them. LocalSettings.php
// (on the volume, written by the installer on first boot) includes this file.
if ( !defined( 'MEDIAWIKI' ) ) {
	exit;
}

// Uploads live on the volume (/var/lib/mediawiki/images).
$wgEnableUploads = true;
// Mail goes through PHP's sendmail, which is msmtp (msmtp-mta) configured from the SMTP_*
// parameters.
$wgEnableEmail = true;
$wgEnableUserEmail = true;
$wgSMTP = false;
// The container's root may be read-only: caches live in the database, not in files.
$wgCacheDirectory = false;
$wgLocalisationCacheConf['store'] = 'db';
